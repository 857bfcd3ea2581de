"""The whole story on the demo system, through the accessibility tree: check, update (watching the
progress bar), restart, roll back, pin, unpin, add a layered package, remove it. After each step the
real state is read with `keel-backend status --json` and `ostree admin status`."""

import json
import os
import re
import subprocess
import tempfile

import pytest

from keel_ui import (BACKEND, DIALOG, KEEL_BIN, Demo, Keel, accessible_name, backend_names, bus_pid, choose,
                     demo_window, find, find_all, handled_requests, key, press, progress_value, screenshot,
                     translations, wait_for)

def test_update_restart_rollback_pin_and_packages(demo):
    with demo_window(demo) as (keel, window):
        assert demo.versions() == ["41.20261112.0", "41.20261101.0"]
        screenshot("system")

        press(find(window, "button", "Check for Updates"))
        find(window, "label", "Keel Demo OS 41.20261125.0 is available", timeout=30)
        find(window, "label", "12 upgraded, 1 added, 1 removed")
        screenshot("update-available")

        press(find(window, "button", "Update"))
        seen = []

        def done():
            value = progress_value(window)
            if value is not None:
                seen.append(value)
            return find_all(window, "label", "Restart to use Keel Demo OS 41.20261125.0")

        wait_for("the update to finish", done, timeout=60, interval=0.02)
        # Under the banner asking for a restart, the Updates row does not say the system is up to date.
        find(window, "label", "The update is ready to use after a restart", timeout=30)
        assert not find_all(window, "label", "The system is up to date")
        assert seen, "the progress bar was shown"
        assert all(a <= b for a, b in zip(seen, seen[1:])), f"progress went down: {seen}"
        demo.wait_versions(["41.20261125.0", "41.20261112.0", "41.20261101.0"])
        screenshot("restart-banner")

        press(find(window, "button", "Restart"))
        wait_for("the restart (simulated)", lambda: demo.status()["deployments"][0]["booted"])
        find(window, "label", "The system is up to date", timeout=30)

        press(find(window, "button", "Roll Back…"))
        dialog = find(keel.app, DIALOG, "Roll Back?")
        find(dialog, "label", "Keel Demo OS 41.20261112.0 will start at the next boot. "
             "Nothing is deleted: the other deployments stay available.")
        screenshot("rollback-dialog")
        press(find(dialog, "button", "Roll Back"))
        demo.wait_versions(["41.20261112.0", "41.20261125.0", "41.20261101.0"])
        # An older deployment booting next is no update waiting.
        find(window, "label", "The system is up to date", timeout=30)

        choose(keel, window, "41.20261101.0", "Pin")
        wait_for("the pin", lambda: demo.status()["deployments"][2]["pinned"])
        assert "Pinned: yes" in demo.ostree_status()
        find(window, "image", "Pinned")
        screenshot("pinned")
        choose(keel, window, "41.20261101.0", "Unpin")
        wait_for("the unpin", lambda: not demo.status()["deployments"][2]["pinned"])
        # The row follows its deployment in place: the pin goes away without the list being rebuilt.
        wait_for("the pin icon to go", lambda: not find_all(window, "image", "Pinned"))

        press(find(window, "page tab", "Packages"))
        find(window, "label", "No packages are layered")
        press(find(window, "button", "Add…"))
        row = find(keel.app, "list item", "htop", timeout=30)
        screenshot("add-packages")
        press(find(row, "button", "Add htop"))
        wait_for("htop to be layered", lambda: demo.status()["deployments"][0]["layered_packages"] == ["htop"])
        find(window, "label", "htop", timeout=30)
        screenshot("packages")
        press(find(window, "button", "Remove htop"))
        try:
            wait_for("htop to be removed", lambda: demo.status()["deployments"][0]["requested_packages"] == [])
        except Exception:
            screenshot("debug-remove")
            print(subprocess.run([BACKEND, "--sysroot", demo.sysroot, "history"], capture_output=True, text=True).stdout)
            print(json.dumps([(d["version"], d["requested_packages"], d["booted"]) for d in demo.status()["deployments"]]))
            raise

        press(find(window, "page tab", "History"))
        find(window, "label", "Add Packages")
        screenshot("history")


def test_no_add_button_without_a_package_source(demo):
    """The Packages page offers Add only where the driver can layer: once the remote stops offering a
    package source (its index branch deleted there; a check tells the backend), the button is gone,
    not left to fail."""
    with demo_window(demo) as (keel, window):
        # Before any check nothing is known against it: Add is offered.
        press(find(window, "page tab", "Packages"))
        find(window, "button", "Add…", timeout=30)
        assert not find_all(window, "label", "The update server offers no packages to add.")
        remote = os.path.join(demo.dir, "remote")
        subprocess.run(["ostree", f"--repo={remote}", "refs", "--delete", "packages/index"], check=True)
        # The summary a client reads the remote's branches from says so too, as on a real server.
        subprocess.run(["ostree", f"--repo={remote}", "summary", "--update"], check=True)
        press(find(window, "page tab", "System"))
        press(find(window, "button", "Check for Updates", timeout=30))
        find(window, "label", "Keel Demo OS 41.20261125.0 is available", timeout=30)
        wait_for("the backend to find no package source",
                 lambda: not demo.status()["capabilities"]["can_layer"], timeout=30)
        press(find(window, "page tab", "Packages"))
        find(window, "label", "Layered Packages")

        def add_controls():
            return [n for n in find_all(window) if accessible_name(n) in ("Add…", "Add Packages")]

        wait_for("no Add control", lambda: not add_controls())
        # The page says why.
        find(window, "label", "The update server offers no packages to add.")
        # The rest of the page is still there.
        find(window, "button", "Reset All")
        screenshot("packages-no-source")


def test_backend_errors_appear_as_a_dialog(demo):
    with demo_window(demo) as (keel, window):
        demo.set_remote("http://127.0.0.1:9")
        press(find(window, "button", "Check for Updates"))
        dialog = find(keel.app, DIALOG, "The Operation Failed", timeout=30)
        # The dialog's labels can come into the tree a moment after the dialog itself.
        wait_for("the backend's sentence", lambda: [n for n in find_all(dialog, "label")
                                                    if "cannot be reached" in n.name])
        # What a bug report needs is there too, folded away.
        assert not [n for n in find_all(dialog, "label") if "Error.Failed" in n.name]
        press(find(dialog, ("button", "toggle button"), "Details"))
        wait_for("the details", lambda: [n for n in find_all(dialog, "label")
                                         if n.name.startswith("io.github.keelapp.Keel.Backend1.Error.Failed: ")])
        screenshot("error-dialog")
        press(find(dialog, "button", "Close"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_narrow_window_uses_the_bottom_switcher(demo, scheme):
    # The remembered window size (GSettings, keyfile backend in a private config home) opens
    # Keel at phone width.
    config = tempfile.mkdtemp(prefix="keel-config-")
    os.makedirs(os.path.join(config, "glib-2.0", "settings"))
    with open(os.path.join(config, "glib-2.0", "settings", "keyfile"), "w") as f:
        f.write("[io/github/keelapp/Keel]\nwindow-width=360\nwindow-height=720\ncheck-updates-automatically=false\n")
    env = {**demo.env, "XDG_CONFIG_HOME": config, "GSETTINGS_BACKEND": "keyfile",
           "ADW_DEBUG_COLOR_SCHEME": f"prefer-{scheme}"}
    suffix = "-dark" if scheme == "dark" else ""
    keel = Keel("--demo", env=env)
    try:
        window = keel.window()
        find(window, "label", "The system is up to date", timeout=60)
        wait_for("a narrow window", lambda: window.queryComponent().getExtents(0).width <= 400)
        # The header shows the window title instead of the switcher, which moves to the bottom bar.
        find(window, "label", "Keel")
        screenshot(f"narrow-system{suffix}")
        press(find(window, "page tab", "Packages"))
        find(window, "label", "Layered Packages")
        screenshot(f"narrow-packages{suffix}")
        press(find(window, "page tab", "History"))
        find(window, "label", "Past Operations")
        screenshot(f"narrow-history{suffix}")
    finally:
        keel.close()


def test_dark_style(demo):
    # Something on every page: a layered package (and so a history entry), and an update waiting.
    subprocess.run([BACKEND, "--sysroot", demo.sysroot, "install", "htop"], check=True, capture_output=True)
    keel = Keel("--demo", env={**demo.env, "ADW_DEBUG_COLOR_SCHEME": "prefer-dark"})
    try:
        window = keel.window()
        find(window, "label", "Restart to use Keel Demo OS 41.20261112.0", timeout=60)
        press(find(window, "button", "Check for Updates"))
        find(window, "button", "Update", timeout=30)
        screenshot("system-dark")
        press(find(window, "page tab", "Packages"))
        find(window, "label", "htop")
        screenshot("packages-dark")
        press(find(window, "page tab", "History"))
        find(window, "label", "Add Packages")
        screenshot("history-dark")
    finally:
        keel.close()


# The phases an update passes through, as the backend names them.
UPDATE_PHASES = ("Downloading", "Checking out the new version and merging /etc", "Deploying",
                 "Writing boot entries", "Updating the bootloader configuration")


def test_german(demo):
    """Everything a German user reads is German, also what the backend says: the progress phases,
    an error, the history."""
    keel = Keel("--demo", env={**demo.env, "LANGUAGE": "de", "LANG": "de_DE.UTF-8"})
    try:
        window = keel.window()
        find(window, "label", "Das System ist aktuell", timeout=60)
        screenshot("german")
        press(find(window, "button", "Nach Aktualisierungen suchen"))
        press(find(window, "button", "Aktualisieren", timeout=30))
        # The progress line is German, typography included ("Phase – 42 %"), and so is the phase
        # the backend reports.
        german_phases = translations("de", *UPDATE_PHASES)
        progress = re.compile(r"(.+) – \d+ %")
        seen = set()

        ready = "Die Aktualisierung ist nach einem Neustart bereit"

        def finished():
            labels = find_all(window, "label")
            seen.update(m.group(1) for m in (progress.fullmatch(n.name) for n in labels) if m)
            return any(n.name == ready for n in labels)
        wait_for("the update to finish, its progress read all along", finished, timeout=60, interval=0.02)
        assert any(phase.startswith(tuple(german_phases)) for phase in seen), seen
        assert not any(phase.startswith(UPDATE_PHASES) for phase in seen), seen
        screenshot("german-update")

        # An error from the backend, in German.
        demo.set_remote("http://127.0.0.1:9")
        press(find(window, "button", "Nach Aktualisierungen suchen"))
        [title] = translations("de", "The Operation Failed")
        dialog = find(keel.app, DIALOG, title, timeout=30)
        unreachable = "Der Aktualisierungsserver ist nicht erreichbar"
        assert [n for n in find_all(dialog, "label") if unreachable in n.name], \
            "the backend's sentence is German"
        screenshot("german-error")
        press(find(dialog, "button", "Schließen"))

        # The history: the update's entry, as the backend recorded it, in German.
        press(find(window, "page tab", "Verlauf"))
        [deployed] = translations("de", "Deployed; boots next")
        wait_for("the update's history entry in German",
                 lambda: [n for n in find_all(window, "label") if n.name.endswith(f" · {deployed}")])
        screenshot("german-history")
    finally:
        keel.close()


def test_window_opened_mid_update_shows_its_progress():
    demo = Demo(delay=0.15)
    backend = None
    keel = None
    try:
        backend = subprocess.Popen([BACKEND, "--demo", "serve"], env={**os.environ, **demo.env})
        name = subprocess.run([BACKEND, "--demo", "bus-name"], env={**os.environ, **demo.env},
                              capture_output=True, text=True, check=True).stdout.strip()
        call = ["gdbus", "call", "--session", "--dest", name,
                "--object-path", "/io/github/keelapp/Keel/Backend", "--method"]
        wait_for("the backend", lambda: subprocess.run(
            call + ["io.github.keelapp.Keel.Backend1.GetStatus"], capture_output=True).returncode == 0)
        subprocess.run(call + ["io.github.keelapp.Keel.Backend1.Update", "{}"], check=True, capture_output=True)
        keel = Keel("--demo", env=demo.env)
        window = keel.window()
        find(window, "progress bar", "Progress", timeout=30)
        find(window, "button", "Cancel")
        # The update row says what is going on, not what it said before the update began.
        find(window, "label", "Updating…")
        screenshot("opened-mid-update")
        find(window, "label", "Restart to use Keel Demo OS 41.20261125.0", timeout=90)
    finally:
        if keel:
            keel.close()
        if backend and backend.poll() is None:
            backend.terminate()
            backend.wait(10)
        demo.stop()


def test_automatic_check_finds_the_update(demo):
    config = tempfile.mkdtemp(prefix="keel-config-")
    env = {**demo.env, "XDG_CONFIG_HOME": config, "GSETTINGS_BACKEND": "keyfile"}
    keel = Keel("--demo", env=env)
    try:
        window = keel.window()
        # No button pressed: the default settings check at start.
        find(window, "label", "Keel Demo OS 41.20261125.0 is available", timeout=60)
        key("ctrl+comma")
        find(keel.app, "label", "Check for Updates Automatically")
        screenshot("preferences")
        key("Escape")
    finally:
        keel.close()


def test_each_system_gets_its_own_window_and_backend(demo):
    other = Demo()
    with demo_window(demo) as (keel, window):
        # A second `keel` for another system hands it to the running one and exits.
        env = {**os.environ, **demo.env}
        subprocess.run([KEEL_BIN, "--sysroot", other.sysroot], env=env, check=True, timeout=60)
        banner = f"Showing the sysroot in {other.sysroot}, not the running system."
        wait_for("a window for the other system", lambda: find_all(keel.app, "label", banner), timeout=60)
        assert len(find_all(keel.app, "frame")) == 2
        # Each system has its own backend, so neither window shows the other's system.
        wait_for("two backends", lambda: len(backend_names()) == 2)
        # Asking again for a system already shown raises its window instead of opening another.
        subprocess.run([KEEL_BIN, "--demo"], env=env, check=True, timeout=60)
        handled_requests()
        assert len(find_all(keel.app, "frame")) == 2
        other.stop()


def test_the_bus_starts_the_backend_where_it_is_installed(demo):
    """Installed (as in the Flatpak), the backend is started by D-Bus activation, not by the window."""
    env = {**os.environ, **demo.env}
    name = subprocess.run([BACKEND, "--demo", "bus-name"], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()
    services = os.path.join(os.environ["HOME"], ".local", "share", "dbus-1", "services")
    os.makedirs(services, exist_ok=True)
    service = os.path.join(services, f"{name}.service")
    with open(service, "w") as f:
        f.write(f"[D-BUS Service]\nName={name}\nExec=/usr/bin/env XDG_DATA_HOME={demo.home} {BACKEND} --demo serve\n")
    reload = ["gdbus", "call", "--session", "--dest", "org.freedesktop.DBus", "--object-path",
              "/org/freedesktop/DBus", "--method", "org.freedesktop.DBus.ReloadConfig"]
    subprocess.run(reload, check=True, capture_output=True)
    try:
        with demo_window(demo):
            # The bus tells what it starts who asked for it, in the environment.
            with open(f"/proc/{bus_pid(name)}/environ", "rb") as f:
                environment = f.read().split(b"\0")
            assert b"DBUS_STARTER_BUS_TYPE=session" in environment, "the message bus started the backend"
    finally:
        os.remove(service)
        subprocess.run(reload, check=True, capture_output=True)


def test_layered_package_row_follows_the_restart_that_applies_it(demo):
    subprocess.run([BACKEND, "--sysroot", demo.sysroot, "install", "htop"], check=True, capture_output=True)
    with demo_window(demo) as (keel, window):
        press(find(window, "page tab", "Packages"))
        row = find(window, "list item", "htop", timeout=30)
        find(row, "label", "Added at the next boot")
        press(find(window, "button", "Restart"))
        wait_for("the restart (simulated)", lambda: demo.status()["deployments"][0]["booted"])
        # Same name, new state: the row says so without the list being rebuilt.
        find(row, "label", "Layered", timeout=30)
        assert not find_all(window, "label", "Added at the next boot")


def test_a_second_launch_hands_over_without_connecting(demo):
    """Only the Keel that shows windows talks to a backend: a second launch hands its request over
    and exits, starting no backend of its own (here, for the demo of another data home)."""
    with demo_window(demo) as (keel, window):
        other_home = tempfile.mkdtemp(prefix="keel-e2e-other-")
        env = {**os.environ, **demo.env, "XDG_DATA_HOME": other_home, "KEEL_LOG": "keel=debug"}
        second = subprocess.run([KEEL_BIN, "--demo"], env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert "connect" not in second.stderr, second.stderr
        handled_requests()
        assert len(backend_names()) == 1
        assert not os.path.exists(os.path.join(other_home, "keel", "demo")), "a backend made a demo there"
        assert len(find_all(keel.app, "frame")) == 1
