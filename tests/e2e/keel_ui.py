"""Drives the real Keel window through the accessibility tree (AT-SPI), as assistive technology does.

Runs inside build-aux/ui-session, which provides the X display, the session bus and the
accessibility bus. Controls are found by role and accessible name, never by widget internals.
"""

import contextlib
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import pyatspi

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "target" / "screenshots"
KEEL_BIN = os.environ.get("KEEL_BIN", str(REPO / "target" / "debug" / "keel"))


class Timeout(AssertionError):
    pass


def wait_for(what, predicate, timeout=20.0, interval=0.1):
    """Polls predicate until it returns something truthy; fails naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except Exception:  # the tree changes under us while widgets come and go
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise Timeout(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def showing(node):
    return node.getState().contains(pyatspi.STATE_SHOWING)


def label_text(node):
    try:
        return node.queryText().getText(0, -1)
    except NotImplementedError:
        return node.name


def accessible_name(node):
    """The name a screen reader announces: the node's own, else that of the labels it is labelled by
    (GTK's menu items carry their name only that way)."""
    if node.name:
        return node.name
    for relation in node.getRelationSet():
        if relation.getRelationType() == pyatspi.RELATION_LABELLED_BY:
            targets = (relation.getTarget(i) for i in range(relation.getNTargets()))
            return " ".join(label_text(target) for target in targets)
    return ""


def find_all(root, role=None, name=None):
    """Every showing descendant with that role name (e.g. "button", or a tuple of them) and
    accessible name."""
    roles = (role,) if isinstance(role, str) else role

    def matches(node):
        return (
            node is not None
            and (roles is None or node.getRoleName() in roles)
            and (name is None or accessible_name(node) == name)
            and showing(node)
        )

    # A walk can meet a node that has just gone (a menu closing, a page sliding in): walk again.
    for _ in range(20):
        try:
            return pyatspi.findAllDescendants(root, matches)
        except Exception:
            time.sleep(0.1)
    return pyatspi.findAllDescendants(root, matches)


def dump(root, depth=0, limit=400):
    """The showing part of the tree under root, one `role 'name'` a line, for failure messages."""
    lines = []

    def visit(node, depth):
        if node is None or len(lines) >= limit or (node is not root and not showing(node)):
            return
        lines.append(f"{'  ' * depth}{node.getRoleName()} {accessible_name(node)!r}")
        for child in node:
            visit(child, depth + 1)

    visit(root, depth)
    return "\n".join(lines)


def find(root, role=None, name=None, timeout=20.0):
    """The one showing descendant with that role and name, waiting for it to appear."""

    def lookup():
        found = find_all(root, role, name)
        return found[0] if found else None

    try:
        return wait_for(f"{role or 'node'} named {name!r}", lookup, timeout)
    except Timeout as timeout_error:
        raise Timeout(f"{timeout_error}; the tree shows:\n{dump(root)}") from None


def press(node):
    """Activates a control the way a screen reader user would: its first action, or, for controls
    that offer none (libadwaita's button rows), focus and the Enter key."""
    try:
        action = node.queryAction()
        count = action.nActions
    except NotImplementedError:
        count = 0
    if count > 0:
        action.doAction(0)
        return
    assert node.queryComponent().grabFocus(), f"{node.getRoleName()} {node.name!r} takes no focus"
    wait_for("the focus", lambda: node.getState().contains(pyatspi.STATE_FOCUSED), timeout=5)
    key("Return")


def key(*keys):
    """Types keys (xdotool names, e.g. "ctrl+q") into the focused window, as a keyboard user would."""
    subprocess.run(["xdotool", "key", "--clearmodifiers", *keys], check=True)


def choose(keel, window, version, item):
    """Picks an item from a deployment row's menu, and waits for the menu to close."""
    press(find(window, "toggle button", f"Actions for {version}"))
    press(find(keel.app, "menu item", item))
    wait_for("the menu to close", lambda: not find_all(keel.app, "menu item", item))


def type_text(text):
    subprocess.run(["xdotool", "type", "--delay", "20", text], check=True)


def focused(root):
    """The control that has the keyboard focus, or None."""
    return pyatspi.findDescendant(
        root, lambda n: n is not None and n.getState().contains(pyatspi.STATE_FOCUSED) and showing(n))


def describe(node):
    return f"{node.getRoleName()} {accessible_name(node)!r}" if node is not None else "nothing"


def move_focus_to(root, role, name, step="Tab", limit=80):
    """Presses `step` (Tab, Down, …) until the control with that role and name has the focus, as a
    keyboard user walks a window. Fails when it is never reached: it cannot be used without a mouse."""
    roles = (role,) if isinstance(role, str) else role
    path = []
    for _ in range(limit):
        node = focused(root)
        path.append(describe(node))
        if node is not None and node.getRoleName() in roles and accessible_name(node) == name:
            return node
        before = path[-1]
        key(step)
        # Let the focus move and the accessibility tree hear of it (it may also stay put).
        try:
            wait_for("the focus to move", lambda: describe(focused(root)) != before, timeout=2, interval=0.02)
        except Timeout:
            pass
    raise Timeout(f"{role} {name!r} never took the focus with {step}; the focus went: " + " → ".join(path))


class Keel:
    """A running Keel process and its accessible application node."""

    def __init__(self, *args, env=None):
        self.process = subprocess.Popen([KEEL_BIN, *args], env={**os.environ, **(env or {})})
        self.app = wait_for("Keel on the accessibility bus", self._find_app)

    def _find_app(self):
        if self.process.poll() is not None:
            raise AssertionError(f"keel exited early with status {self.process.returncode}")
        desktop = pyatspi.Registry.getDesktop(0)
        for app in desktop:
            if app is not None and app.get_process_id() == self.process.pid:
                return app
        return None

    def window(self, title="Keel"):
        return find(self.app, "frame", title)

    def wait_exit(self, timeout=10.0):
        return self.process.wait(timeout)

    def close(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        stop_backend()


BACKEND_NAME = "io.github.keelapp.Keel.Backend"


def _bus_call(*args):
    return subprocess.run(
        ["gdbus", "call", "--session", "--dest", "org.freedesktop.DBus",
         "--object-path", "/org/freedesktop/DBus", "--method", *args],
        capture_output=True, text=True,
    )


def backend_names():
    """The bus names Keel backends own now: one per system they serve."""
    out = _bus_call("org.freedesktop.DBus.ListNames").stdout
    return [n for n in re.findall(r"'([^']+)'", out)
            if n == BACKEND_NAME or n.startswith(BACKEND_NAME + ".")]


def bus_pid(name):
    """The process that owns a name on the session bus."""
    out = _bus_call("org.freedesktop.DBus.GetConnectionUnixProcessID", name)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip().strip("(),").split()[-1])


def stop_backend():
    """Stops the backends Keel started (they outlive the window by design), so the next test gets
    its own."""
    for name in backend_names():
        try:
            os.kill(bus_pid(name), 15)
        except (AssertionError, ProcessLookupError):
            continue  # gone already
    wait_for("the backends to stop", lambda: not backend_names())


def screenshot(name):
    """Saves what the screen shows, trimmed to the windows on it, as target/screenshots/NAME.png:
    once two pictures in a row agree, so the last frame has reached the X server and no animation
    is half-way."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    last = [None]

    def steady():
        picture = subprocess.run(["import", "-window", "root", "-trim", "+repage", "png:-"],
                                 check=True, capture_output=True).stdout
        if picture == last[0]:
            return picture
        last[0] = picture
        return None

    try:
        picture = wait_for("the screen to settle", steady, timeout=3, interval=0.05)
    except Timeout:
        picture = last[0]  # something keeps moving (a progress bar): take the latest
    path.write_bytes(picture)
    return path


def app_id():
    """Keel's application id: development builds have their own."""
    return "io.github.keelapp.Keel.Devel" if "/debug/" in KEEL_BIN else "io.github.keelapp.Keel"


def handled_requests():
    """Returns once the running Keel has handled every request handed to it before this call: it
    answers on its main loop, after what was queued ahead (such as a second launch's)."""
    subprocess.run(
        ["gdbus", "call", "--session", "--dest", app_id(), "--object-path", "/" + app_id().replace(".", "/"),
         "--method", "org.gtk.Actions.DescribeAll"],
        check=True, capture_output=True, timeout=30,
    )


def translations(language, *msgids):
    """What po/LANGUAGE.po says for each msgid (single-line entries), so tests follow the
    translation rather than copy it."""
    found = {}
    current = None
    for line in (REPO / "po" / f"{language}.po").read_text().splitlines():
        if line.startswith('msgid "'):
            current = line[len('msgid "'):-1]
        elif line.startswith('msgstr "') and current in msgids:
            found[current] = line[len('msgstr "'):-1]
    missing = [m for m in msgids if not found.get(m)]
    assert not missing, f"po/{language}.po does not translate {missing}"
    return [found[m] for m in msgids]


# libadwaita's dialogs show up as one of these roles.
DIALOG = ("dialog", "alert", "alert dialog")
BACKEND = os.environ.get("KEEL_BACKEND_BIN", str(REPO / "target" / "debug" / "keel-backend"))


class Demo:
    """A fresh demo system in a private XDG data home (where `keel --demo` looks), its remote
    served over HTTP on 127.0.0.1 with a small delay per request, as a real mirror would be."""

    def __init__(self, delay=0.02):
        self.home = tempfile.mkdtemp(prefix="keel-e2e-")
        self.dir = os.path.join(self.home, "keel", "demo")
        self.sysroot = os.path.join(self.dir, "sysroot")
        subprocess.run([BACKEND, "demo", "init", "--dir", self.dir], check=True, capture_output=True)
        self.server = subprocess.Popen(
            ["python3", str(REPO / "backend" / "tests" / "slow_http.py"), str(delay),
             os.path.join(self.dir, "remote")],
            stdout=subprocess.PIPE, text=True,
        )
        self.set_remote(f"http://127.0.0.1:{int(self.server.stdout.readline())}")

    def set_remote(self, url):
        repo = os.path.join(self.sysroot, "ostree", "repo")
        subprocess.run(["ostree", f"--repo={repo}", "remote", "delete", "keeldemo"], check=True)
        subprocess.run(["ostree", f"--repo={repo}", "remote", "add", "--no-gpg-verify", "keeldemo", url],
                       check=True)

    def stop(self):
        self.server.terminate()
        self.server.wait(10)

    @property
    def env(self):
        return {"XDG_DATA_HOME": self.home}

    def status(self):
        out = subprocess.run(
            [BACKEND, "--sysroot", self.sysroot, "status", "--json"],
            check=True, capture_output=True, text=True,
        )
        return json.loads(out.stdout)

    def ostree_status(self):
        return subprocess.run(
            ["ostree", "admin", "status", f"--sysroot={self.sysroot}"],
            check=True, capture_output=True, text=True,
        ).stdout

    def versions(self):
        return [d["version"] for d in self.status()["deployments"]]

    def apps(self):
        """The demo's installed Flatpaks as the backend lists them (`apps list --json`)."""
        out = subprocess.run([BACKEND, "--demo", "apps", "list", "--json"], env={**os.environ, **self.env},
                             check=True, capture_output=True, text=True)
        return json.loads(out.stdout)

    def apps_cli(self, *args):
        """Runs `keel-backend --demo apps …` as another program would, beside the window."""
        subprocess.run([BACKEND, "--demo", "apps", *args], env={**os.environ, **self.env},
                       check=True, capture_output=True, text=True)

    def publish(self):
        """Publishes a new OS version and an app update on the demo's remotes; returns the OS's new
        version (it says "Published Keel Demo OS VERSION")."""
        out = subprocess.run([BACKEND, "demo", "publish", "--dir", self.dir], check=True, capture_output=True,
                             text=True, env={**os.environ, "LANGUAGE": "C"}).stdout
        return out.splitlines()[0].split()[-1]

    def wait_versions(self, expected):
        wait_for(f"deployments {expected}", lambda: self.versions() == expected)
        # libostree's own view agrees, in the same order.
        listed = [line.split("Version: ")[1] for line in self.ostree_status().splitlines() if "Version: " in line]
        assert listed == expected


def progress_value(window):
    bars = find_all(window, "progress bar")
    return bars[0].queryValue().currentValue if bars else None


@contextlib.contextmanager
def demo_window(demo, env=None):
    """Keel on a demo system, its window up and showing the system; closed afterwards."""
    keel = Keel("--demo", env={**demo.env, **(env or {})})
    try:
        window = keel.window()
        find(window, "label", "The system is up to date", timeout=60)
        yield keel, window
    finally:
        keel.close()
