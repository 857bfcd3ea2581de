"""The System page's dialogs on the demo system: Clean Up (what goes and the space it frees, known
before anything is removed), Compare with Booted, Local Configuration Changes, and waiting for another
program that holds the system."""

import fcntl
import os
import re
import subprocess

from keel_ui import (BACKEND, DIALOG, Demo, Keel, choose, demo_window, find, find_all, key, label_text, press,
                     screenshot, type_text, wait_for)


def booted_etc(demo):
    booted = next(d for d in demo.status()["deployments"] if d["booted"])
    # Ids are OSNAME-CHECKSUM.SERIAL; the folder is deploy/OSNAME/deploy/CHECKSUM.SERIAL.
    osname, rest = booted["id"].split("-", 1)
    return os.path.join(demo.sysroot, "ostree", "deploy", osname, "deploy", rest, "etc")


def labels(root):
    return [label_text(node) for node in find_all(root, "label")]


def test_clean_up_says_what_it_frees_before_removing(demo):
    with demo_window(demo) as (keel, window):
        press(find(window, "button", "Clean Up…"))
        dialog = find(keel.app, DIALOG, "Clean Up?")
        summary = re.compile(r"This removes 1 deployment \(41\.20261101\.0\) and frees [0-9.]+\s?kB\. "
                             r"The booted and pinned deployments stay\.")
        try:
            wait_for("the estimate", lambda: any(summary.fullmatch(text) for text in labels(dialog)))
        except AssertionError:
            raise AssertionError(f"the dialog says: {labels(dialog)}") from None
        # Nothing was removed to find that out.
        assert demo.versions() == ["41.20261112.0", "41.20261101.0"]
        screenshot("clean-up-dialog")
        press(find(dialog, "button", "Clean Up"))
        demo.wait_versions(["41.20261112.0"])

        # Now only the booted deployment is left: nothing more to remove, and the dialog says so.
        find(window, "label", "Cleaned up", timeout=30)
        press(find(window, "button", "Clean Up…"))
        dialog = find(keel.app, DIALOG, "Clean Up?")
        find(dialog, "label", "There is nothing to clean up: only the booted and pinned deployments "
             "remain, and the repository holds nothing unused.")
        press(find(dialog, "button", "Cancel"))


def test_compare_with_booted_and_local_configuration_changes(demo):
    with open(os.path.join(booted_etc(demo), "keel-e2e.conf"), "w") as f:
        f.write("changed = yes\n")
    with demo_window(demo) as (keel, window):

        choose(keel, window, "41.20261101.0", "Compare with Booted")
        dialog = find(keel.app, DIALOG, "Compared with Booted")
        find(dialog, "label", "8 downgraded")
        find(dialog, "label", "Downgraded: 24.2.6-1.fc41 → 24.2.5-1.fc41")
        screenshot("compare-dialog")
        press(find(dialog, "button", "Close"))
        wait_for("the dialog to close", lambda: not find_all(keel.app, DIALOG, "Compared with Booted"))

        choose(keel, window, "41.20261112.0", "Local Configuration Changes")
        dialog = find(keel.app, DIALOG, "Local Configuration Changes")
        find(dialog, "label", "1 file in /etc differs from the image’s defaults.")
        find(dialog, "label", "/etc/keel-e2e.conf")
        find(dialog, "label", "Added")
        screenshot("config-diff-dialog")
        press(find(dialog, "button", "Close"))


class SysrootLock:
    """libostree's sysroot lock, held by this process as `ostree admin` would hold it while it works.
    Opened afresh each time: libostree deletes the lock file when it releases the lock."""

    def __init__(self, sysroot):
        self.path = os.path.join(sysroot, "ostree", "lock")
        self.file = None

    def take(self):
        self.file = open(self.path, "a")
        fcntl.lockf(self.file, fcntl.LOCK_EX)

    def release(self):
        if self.file:
            fcntl.lockf(self.file, fcntl.LOCK_UN)
            self.file.close()
            self.file = None


def test_waits_for_another_program_that_holds_the_system(demo):
    keel = Keel("--demo", env=demo.env)
    lock = SysrootLock(demo.sysroot)
    try:
        window = keel.window()
        find(window, "label", "The system is up to date", timeout=60)
        lock.take()
        choose(keel, window, "41.20261101.0", "Pin")
        dialog = find(keel.app, DIALOG, "Another Operation Is Running")
        find(dialog, "label", "Another program is changing this system right now (the OSTree sysroot is "
             "locked). Try again when it has finished.")
        screenshot("busy-dialog")
        press(find(dialog, "button", "Wait and Retry"))
        find(window, "label", "Waiting for the other program to finish…", timeout=10)
        assert not demo.status()["deployments"][1]["pinned"]
        lock.release()
        wait_for("the pin, once the other program is done",
                 lambda: demo.status()["deployments"][1]["pinned"], timeout=30)
        find(window, "image", "Pinned", timeout=10)

        # Waiting can be given up: Cancel stops it and changes nothing.
        lock.take()
        choose(keel, window, "41.20261101.0", "Unpin")
        press(find(find(keel.app, DIALOG, "Another Operation Is Running"), "button", "Wait and Retry"))
        find(window, "label", "Waiting for the other program to finish…", timeout=10)
        press(find(window, "button", "Cancel"))
        find(window, "label", "Stopped waiting; nothing was changed", timeout=10)
        lock.release()
        assert demo.status()["deployments"][1]["pinned"]
    finally:
        lock.release()
        keel.close()


def test_giving_up_waiting_leaves_the_other_transaction_running():
    # A slow mirror, so the other client's update is still running when Cancel is pressed.
    demo = Demo(delay=0.15)
    keel = Keel("--demo", env=demo.env)
    try:
        window = keel.window()
        find(window, "label", "The system is up to date", timeout=60)
        name = subprocess.run([BACKEND, "--sysroot", demo.sysroot, "bus-name"], check=True,
                              capture_output=True, text=True).stdout.strip()
        # Another client of the same backend starts an update.
        subprocess.run(["gdbus", "call", "--session", "--dest", name, "--object-path",
                        "/io/github/keelapp/Keel/Backend", "--method",
                        "io.github.keelapp.Keel.Backend1.Update", "{}"], check=True, capture_output=True, timeout=30)
        choose(keel, window, "41.20261101.0", "Pin")
        press(find(find(keel.app, DIALOG, "Another Operation Is Running"), "button", "Wait and Retry"))
        # Cancel gives up this window's wait; the update it follows is the other client's and runs on.
        press(find(window, "button", "Cancel", timeout=10))
        find(window, "label", "Stopped waiting; nothing was changed", timeout=60)
        status = demo.status()
        assert status["deployments"][0]["pending"], "the other client's update was not cancelled"
        assert not any(d["pinned"] for d in status["deployments"]), "the pin was not made after all"
    finally:
        keel.close()
        demo.stop()


def test_add_packages_searches_names_and_summaries(demo):
    """The Add Packages list is filtered as one types, by name and by summary; when nothing matches
    it says so; Escape clears the search, then closes the dialog."""
    with demo_window(demo) as (keel, window):
        press(find(window, "page tab", "Packages"))
        press(find(window, "button", "Add…"))
        find(keel.app, "list item", "htop", timeout=30)
        # The search has the focus when the dialog opens.
        find(keel.app, "entry", "Search packages")
        type_text("shell")
        wait_for("the shells", lambda: sorted(n.name for n in find_all(keel.app, "list item")
                                              if n.name in ("fish", "zsh", "htop", "tmux")) == ["fish", "zsh"])
        key("ctrl+a")
        type_text("no-such-package")
        find(keel.app, "label", "No package matches “no-such-package”.")
        screenshot("add-packages-no-match")
        key("Escape")
        find(keel.app, "list item", "htop")
        key("Escape")
        wait_for("the dialog to close", lambda: not find_all(keel.app, "list item", "htop"))
