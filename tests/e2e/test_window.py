"""The Keel window opens, is reachable through the accessibility tree, and its menu works."""

from keel_ui import Keel, find, find_all, key, press, screenshot, wait_for


def test_window_opens_with_primary_menu():
    keel = Keel()
    try:
        window = keel.window()
        menu_button = find(window, "toggle button", "Main Menu")
        screenshot("main-window")

        press(menu_button)
        for label in ("Keyboard Shortcuts", "About Keel", "Quit"):
            find(keel.app, "menu item", label)
        screenshot("primary-menu")

        press(find(keel.app, "menu item", "About Keel"))
        about = find(keel.app, "dialog", "About")
        find(about, "label", "The Keel developers")
        find(about, "button", "0.1.0")
        screenshot("about")
        press(find(about, "button", "Close"))
        wait_for("the About dialog to close", lambda: not find_all(keel.app, "dialog", "About"))

        press(menu_button)
        press(find(keel.app, "menu item", "Quit"))
        assert keel.wait_exit() == 0
    finally:
        keel.close()


def test_keyboard_shortcuts_window_and_quit():
    """Ctrl+? opens the shortcuts window and Ctrl+Q quits, with no mouse at all."""
    keel = Keel()
    try:
        keel.window()
        key("ctrl+question")
        shortcuts = find(keel.app, "grouping", "General")
        find(shortcuts, "label", "Ctrl + Q Quit")
        screenshot("shortcuts")
        key("Escape")
        wait_for("the shortcuts window to close", lambda: not find_all(keel.app, "grouping", "General"))
        key("ctrl+q")
        assert keel.wait_exit() == 0
    finally:
        keel.close()
