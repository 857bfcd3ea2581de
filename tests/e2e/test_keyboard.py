"""The whole story with the keyboard alone: no AT-SPI actions, no clicks. Tab walks the window, Return
and Space press, arrows move through menus, Escape closes. Each step also checks the real system. And
every control, on every page and in the menus and dialogs, has a name a screen reader can say."""

from keel_ui import (DIALOG, accessible_name, demo_window, describe, find, find_all, focused, key, move_focus_to,
                     press, screenshot, type_text, wait_for)


def test_everything_works_from_the_keyboard(demo):
    with demo_window(demo) as (keel, window):

        move_focus_to(window, "button", "Check for Updates")
        key("Return")
        find(window, "label", "Keel Demo OS 41.20261125.0 is available", timeout=30)

        move_focus_to(window, "button", "Update")
        key("Return")
        find(window, "label", "Restart to use Keel Demo OS 41.20261125.0", timeout=60)
        demo.wait_versions(["41.20261125.0", "41.20261112.0", "41.20261101.0"])

        move_focus_to(window, "button", "Restart")
        key("Return")
        wait_for("the restart (simulated)", lambda: demo.status()["deployments"][0]["booted"])
        find(window, "label", "The system is up to date", timeout=30)

        move_focus_to(window, "button", "Roll Back…")
        key("Return")
        dialog = find(keel.app, DIALOG, "Roll Back?")
        move_focus_to(dialog, "button", "Roll Back")
        key("Return")
        demo.wait_versions(["41.20261112.0", "41.20261125.0", "41.20261101.0"])

        # A row's menu: open it, walk it with the arrows, choose.
        move_focus_to(window, "toggle button", "Actions for 41.20261101.0")
        key("Return")
        find(keel.app, "menu item", "Pin")
        move_focus_to(keel.app, "menu item", "Pin", step="Down")
        screenshot("keyboard-row-menu")
        key("Return")
        wait_for("the pin", lambda: demo.status()["deployments"][2]["pinned"])

        # Another page, then a dialog with a search field.
        # The view switcher is one tab stop; the arrows move between its pages.
        move_focus_to(window, "page tab", "System")
        move_focus_to(window, "page tab", "Packages", step="Right")
        key("space")
        move_focus_to(window, "button", "Add…")
        key("Return")
        find(keel.app, "list item", "htop", timeout=30)
        type_text("htop")
        wait_for("the search to narrow the list", lambda: len(find_all(keel.app, "list item")) <= 3)
        move_focus_to(keel.app, "button", "Add htop")
        key("Return")
        wait_for("htop to be layered",
                 lambda: demo.status()["deployments"][0]["layered_packages"] == ["htop"], timeout=60)
        find(window, "label", "htop", timeout=30)

        move_focus_to(window, "button", "Remove htop")
        key("Return")
        wait_for("htop to be removed",
                 lambda: demo.status()["deployments"][0]["requested_packages"] == [], timeout=60)

        # Shortcuts: refresh, preferences (closed with Escape), quit.
        key("ctrl+r")
        key("ctrl+comma")
        find(keel.app, DIALOG + ("window",), "Preferences")
        key("Escape")
        wait_for("the preferences to close", lambda: not find_all(keel.app, DIALOG + ("window",), "Preferences"))
        assert focused(keel.app) is not None, "the focus is somewhere after closing a dialog"
        key("ctrl+q")
        assert keel.wait_exit() == 0


CONTROLS = ("push button", "button", "toggle button", "check box", "radio button", "menu item", "entry",
            "text", "spin button", "switch", "page tab", "link", "combo box", "slider", "search", "list item")


def unnamed_controls(root):
    """Controls a screen reader could only announce by their role. Counted until two counts in a
    row agree, so a menu still fading out is not taken for part of the page."""
    def scan():
        return sorted(describe(n) for n in find_all(root, CONTROLS) if not accessible_name(n).strip())
    last = [None]

    def settled():
        found = scan()
        if found == last[0]:
            return (found,)
        last[0] = found
        return None
    return wait_for("the controls to settle", settled, timeout=10, interval=0.2)[0]


def test_every_control_has_an_accessible_name(demo):
    with demo_window(demo) as (keel, window):
        press(find(window, "button", "Check for Updates"))
        find(window, "button", "Update", timeout=30)
        seen = {"System": unnamed_controls(keel.app)}
        press(find(window, "toggle button", "Actions for 41.20261101.0"))
        find(keel.app, "menu item", "Pin")
        seen["row menu"] = unnamed_controls(keel.app)
        key("Escape")
        wait_for("the menu to close", lambda: not find_all(keel.app, "menu item", "Pin"))
        for page in ("Packages", "History"):
            press(find(window, "page tab", page))
            find(window, "page tab", page)
            seen[page] = unnamed_controls(keel.app)
        press(find(window, "page tab", "Packages"))
        press(find(window, "button", "Add…"))
        find(keel.app, "list item", "htop", timeout=30)
        seen["Add Packages"] = unnamed_controls(keel.app)
        key("Escape")
        wait_for("the dialog to close", lambda: not find_all(keel.app, "list item", "htop"))
        key("ctrl+comma")
        find(keel.app, DIALOG + ("window",), "Preferences")
        seen["Preferences"] = unnamed_controls(keel.app)
        key("Escape")
        missing = {where: found for where, found in seen.items() if found}
        assert not missing, f"controls without an accessible name: {missing}"
