"""The Apps page on the demo's own Flatpak installation (a runtime and three apps, installed by `demo
init` with the real `flatpak`), through the accessibility tree: the apps with their versions, the
runtimes apart, an app update published, found, installed; Update All from the System page; uninstall
with its confirmation; removing unused runtimes; changes made by another program; the keyboard alone;
German; and the page wide and narrow, light and dark. After each step the real state is read with
`keel-backend apps list --json`."""

import os
import re
import tempfile
import time
from pathlib import Path

import pyatspi
import pytest

from keel_ui import (DIALOG, Keel, demo_window, find, find_all, focused, key, move_focus_to, press,
                     progress_value, screenshot, translations, type_text, wait_for)


def apps_of(installed, kind="app"):
    return sorted((a for a in installed if a["kind"] == kind), key=lambda a: a["name"].lower())


def open_apps(window, title="Apps"):
    press(find(window, "page tab", title))
    find(window, "list item", timeout=30)


def facts_of(window, version):
    """The labels under app names that start with this version ("1.0 · 12 kB · User")."""
    return [n for n in find_all(window, "label") if n.name.startswith(f"{version} · ")]


def update_button(window):
    """The one app's Update button showing (not Update All), and the app's name."""
    buttons = [n for n in find_all(window, "button") if n.name.startswith("Update ") and n.name != "Update All"]
    return (buttons[0], buttons[0].name[len("Update "):]) if len(buttons) == 1 else None


def updated(demo, key, before):
    """The app with this key has a version other than `before` and no update waiting."""
    app = next(a for a in demo.apps() if a["key"] == key)
    return app["version"] != before and not app["update_commit"]


def test_apps_are_listed_with_versions_and_the_runtimes_apart(demo):
    installed = demo.apps()
    apps, runtimes = apps_of(installed), apps_of(installed, "runtime")
    assert len(apps) == 3 and runtimes, installed
    with demo_window(demo) as (keel, window):
        open_apps(window)
        for app in apps:
            find(window, "list item", app["name"])
            find(window, "label", app["name"])
            assert facts_of(window, app["version"]), f"{app['name']} shows version {app['version']}"
        find(window, "label", "All apps are up to date")
        # The runtimes' section starts closed.
        find(window, "toggle button", "Runtimes")
        assert not find_all(window, "label", runtimes[0]["name"])
        screenshot("apps")
        press(find(window, "toggle button", "Runtimes"))
        for runtime in runtimes:
            find(window, "label", runtime["name"])
        screenshot("apps-runtimes")

        # A search narrows the list to what matches, by name.
        move_focus_to(window, "entry", "Search Apps")
        wanted = apps[1]["name"]
        type_text(wanted[:5])
        wait_for("the search to narrow the list",
                 lambda: not any(a["name"] in [n.name for n in find_all(window, "list item")]
                                 for a in apps if not a["name"].lower().startswith(wanted[:5].lower())))
        find(window, "list item", wanted)
        type_text("zzzz")
        find(window, "label", "No Results Found")
        key("Escape")
        wait_for("every app again", lambda: len([n for n in find_all(window, "list item")
                                                 if n.name in {a["name"] for a in apps}]) == 3)


def test_a_published_app_update_is_found_and_installed(demo):
    with demo_window(demo) as (keel, window):
        open_apps(window)
        before = {a["key"]: a["version"] for a in demo.apps()}
        demo.publish()
        press(find(window, "button", "Check for Updates"))
        button, name = wait_for("an app's Update button", lambda: update_button(window), timeout=60)
        app = next(a for a in demo.apps() if a["name"] == name)
        assert app["update_commit"], "the backend knows the update the page shows"
        # The badge beside its name, the count over the list and on the Apps tab.
        find(window, "label", "1 update available")
        assert find_all(window, "label", "Update")
        find(window, "button", "Update All")
        screenshot("apps-update-available")

        press(button)
        wait_for(f"{name} to be updated", lambda: updated(demo, app["key"], before[app["key"]]), timeout=60)
        new_version = next(a for a in demo.apps() if a["key"] == app["key"])["version"]
        wait_for(f"the row to show {new_version}", lambda: facts_of(window, new_version), timeout=30)
        find(window, "label", "All apps are up to date", timeout=30)
        assert not update_button(window)
        assert not find_all(window, "button", "Update All")
        # The other apps kept their versions.
        assert {a["key"]: a["version"] for a in demo.apps() if a["key"] != app["key"]} == \
            {k: v for k, v in before.items() if k != app["key"]}


def test_update_all_on_the_apps_page_updates_every_app(demo):
    demo.publish()
    with demo_window(demo) as (keel, window):
        open_apps(window)
        press(find(window, "button", "Check for Updates"))
        _, name = wait_for("an app's Update button", lambda: update_button(window), timeout=60)
        key_ = next(a["key"] for a in demo.apps() if a["name"] == name)
        before = next(a["version"] for a in demo.apps() if a["key"] == key_)
        press(find(window, "button", "Update All"))
        wait_for("the apps to be updated", lambda: updated(demo, key_, before), timeout=60)
        find(window, "label", "All apps are up to date", timeout=30)
        # Apps only: the OS update published with it still waits.
        assert demo.versions()[0] == "41.20261112.0"


def test_update_all_brings_the_system_and_the_apps_up_to_date(demo):
    version = demo.publish()
    with demo_window(demo) as (keel, window):
        press(find(window, "button", "Check for Updates"))
        find(window, "label", f"Keel Demo OS {version} is available", timeout=60)
        # The Updates row counts the app update too, and offers Update All.
        wait_for("the app update in the Updates row",
                 lambda: [n for n in find_all(window, "label") if n.name.endswith("1 app update waiting")],
                 timeout=30)
        waiting = next(a for a in demo.apps() if a["update_commit"])
        screenshot("system-update-all")
        press(find(window, "button", "Update All"))
        seen = []

        def done():
            value = progress_value(window)
            if value is not None:
                seen.append(value)
            return find_all(window, "label", f"Restart to use Keel Demo OS {version}")

        wait_for("Update All to finish", done, timeout=120, interval=0.02)
        assert seen, "the progress bar was shown"
        assert all(a <= b for a, b in zip(seen, seen[1:])), f"one progress, never going back: {seen}"
        demo.wait_versions([version, "41.20261112.0", "41.20261101.0"])
        wait_for("the app to be updated", lambda: updated(demo, waiting["key"], waiting["version"]), timeout=30)
        wait_for("no app update left in the Updates row",
                 lambda: not [n for n in find_all(window, "label") if "app update" in n.name], timeout=30)


def test_uninstall_asks_first_and_keeps_the_data_unless_told(demo):
    apps = apps_of(demo.apps())
    kept, deleted = apps[0], apps[1]
    data = Path(os.path.expanduser("~/.var/app"))
    for app in (kept, deleted):
        (data / app["id"] / "config").mkdir(parents=True, exist_ok=True)
        (data / app["id"] / "config" / "settings").write_text("mine\n")
    with demo_window(demo) as (keel, window):
        open_apps(window)
        press(find(window, "button", f"Uninstall {kept['name']}"))
        dialog = find(keel.app, DIALOG, f"Uninstall {kept['name']}?")
        wait_for("the dialog to say the data is kept",
                 lambda: [n for n in find_all(dialog, "label") if "is kept" in n.name])
        find(dialog, "check box", "Also delete its data")
        screenshot("apps-uninstall-dialog")
        # Cancel changes nothing.
        press(find(dialog, "button", "Cancel"))
        wait_for("the dialog to close", lambda: not find_all(keel.app, DIALOG, f"Uninstall {kept['name']}?"))
        assert kept["key"] in [a["key"] for a in demo.apps()]
        find(window, "list item", kept["name"])

        press(find(window, "button", f"Uninstall {kept['name']}"))
        dialog = find(keel.app, DIALOG, f"Uninstall {kept['name']}?")
        press(find(dialog, "button", "Uninstall"))
        wait_for(f"{kept['name']} to be uninstalled",
                 lambda: kept["key"] not in [a["key"] for a in demo.apps()], timeout=60)
        wait_for("its row to go", lambda: not find_all(window, "list item", kept["name"]), timeout=30)
        assert (data / kept["id"] / "config" / "settings").exists(), "its data was kept"

        press(find(window, "button", f"Uninstall {deleted['name']}"))
        dialog = find(keel.app, DIALOG, f"Uninstall {deleted['name']}?")
        move_focus_to(dialog, "check box", "Also delete its data")
        key("space")
        wait_for("the box ticked", lambda: find(dialog, "check box", "Also delete its data")
                 .getState().contains(pyatspi.STATE_CHECKED))
        press(find(dialog, "button", "Uninstall"))
        wait_for(f"{deleted['name']} to be uninstalled",
                 lambda: deleted["key"] not in [a["key"] for a in demo.apps()], timeout=60)
        wait_for("its data to be deleted", lambda: not (data / deleted["id"]).exists(), timeout=30)


def test_changes_by_another_program_then_removing_unused_runtimes(demo):
    installed = demo.apps()
    apps, runtimes = apps_of(installed), apps_of(installed, "runtime")
    with demo_window(demo) as (keel, window):
        open_apps(window)
        # Every app uninstalled from a terminal while the window is open: the page follows.
        demo.apps_cli("uninstall", *[a["key"] for a in apps])
        wait_for("the apps' rows to go",
                 lambda: not [n for n in find_all(window, "list item") if n.name in {a["name"] for a in apps}],
                 timeout=30)
        # The runtime nobody uses is offered for removal, with the space it frees.
        unused = [a for a in demo.apps() if a["unused"]]
        assert unused, demo.apps()
        press(find(window, "button", "Remove Unused…", timeout=30))
        dialog = find(keel.app, DIALOG, "Remove Unused Runtimes?")
        wait_for("the dialog to say what it frees",
                 lambda: [n for n in find_all(dialog, "label") if "freeing" in n.name])
        screenshot("apps-remove-unused")
        press(find(dialog, "button", "Remove"))
        # Nothing is left installed: the page says so.
        wait_for("the unused runtimes to go", lambda: not demo.apps(), timeout=60)
        find(window, "label", "No Apps Installed", timeout=30)
        assert runtimes
        screenshot("apps-empty")


def test_the_apps_page_from_the_keyboard(demo):
    demo.publish()
    with demo_window(demo) as (keel, window):
        # The view switcher is one tab stop; the arrows move between its pages.
        move_focus_to(window, "page tab", "System")
        move_focus_to(window, "page tab", "Apps", step="Right")
        key("space")
        find(window, "list item", timeout=30)
        move_focus_to(window, "button", "Check for Updates")
        key("Return")
        _, name = wait_for("an app's Update button", lambda: update_button(window), timeout=60)
        app = next(a for a in demo.apps() if a["name"] == name)
        # Into the list, to its top, down to the app, across to its Update button.
        into_the_list(window)
        key("Home")
        move_focus_to(window, "list item", name, step="Down")
        move_focus_to(window, "button", f"Update {name}")
        key("Return")
        wait_for(f"{name} to be updated", lambda: updated(demo, app["key"], app["version"]), timeout=60)

        # Typing searches, wherever the focus is on the page.
        other = next(a for a in apps_of(demo.apps()) if a["name"] != name)
        into_the_list(window)
        type_text(other["name"][:5])
        listed = lambda: [n.name for n in find_all(window, "list item")]  # noqa: E731
        wait_for("the search to find it", lambda: other["name"] in listed() and name not in listed())
        # Uninstall it: Escape on the confirmation changes nothing; then confirm.
        move_focus_to(window, "button", f"Uninstall {other['name']}")
        key("Return")
        find(keel.app, DIALOG, f"Uninstall {other['name']}?")
        key("Escape")
        wait_for("the dialog to close", lambda: not find_all(keel.app, DIALOG, f"Uninstall {other['name']}?"))
        assert other["key"] in [a["key"] for a in demo.apps()]
        move_focus_to(window, "button", f"Uninstall {other['name']}")
        key("Return")
        dialog = find(keel.app, DIALOG, f"Uninstall {other['name']}?")
        move_focus_to(dialog, "button", "Uninstall")
        key("Return")
        wait_for(f"{other['name']} to be uninstalled",
                 lambda: other["key"] not in [a["key"] for a in demo.apps()], timeout=60)
        # Its row (and the button that had the focus) is gone: the focus is still on the page.
        wait_for("the focus on the page again", lambda: focused(window), timeout=10)


def into_the_list(window, limit=40):
    """Presses Tab until a row of the list has the focus (Tab enters the list where it left it)."""
    for _ in range(limit):
        node = focused(window)
        if node is not None and node.getRoleName() == "list item":
            return node
        key("Tab")
        time.sleep(0.1)
    raise AssertionError("Tab never reached the list")


def test_the_apps_page_in_german(demo):
    demo.publish()
    env = {"LANGUAGE": "de", "LANG": "de_DE.UTF-8"}
    keel = Keel("--demo", env={**demo.env, **env})
    try:
        window = keel.window()
        find(window, "label", "Das System ist aktuell", timeout=60)
        [apps_title, up_to_date, check, runtimes] = translations(
            "de", "Apps", "All apps are up to date", "_Check for Updates", "Runtimes")
        press(find(window, "page tab", apps_title))
        find(window, "label", up_to_date, timeout=30)
        find(window, "toggle button", runtimes)
        press(find(window, "button", check.replace("_", "")))
        [update_template, uninstall_template, uninstall_title, update_all] = translations(
            "de", "Update {name}", "Uninstall {name}", "Uninstall {name}?", "Update _All")
        pattern = re.compile(re.escape(update_template).replace(re.escape("{name}"), "(.+)"))

        def german_update_button():
            found = [m.group(1) for m in (pattern.fullmatch(n.name) for n in find_all(window, "button")
                                          if n.name != update_all.replace("_", "")) if m]
            return found[0] if found else None

        name = wait_for("a German Update button", german_update_button, timeout=60)
        assert not find_all(window, "label", up_to_date)
        screenshot("german-apps")
        press(find(window, "button", uninstall_template.replace("{name}", name)))
        dialog = find(keel.app, DIALOG, uninstall_title.replace("{name}", name))
        [cancel] = translations("de", "_Cancel")
        # The sentence about the app's data is German too (the English one is not there).
        body = wait_for("the sentence about the data",
                        lambda: [n.name for n in find_all(dialog, "label") if n.name.startswith(f"{name} ")])
        assert not any("will be removed" in text for text in body), body
        screenshot("german-apps-uninstall")
        press(find(dialog, "button", cancel.replace("_", "")))
    finally:
        keel.close()


@pytest.mark.parametrize("width,scheme", [(960, "dark"), (360, "light"), (360, "dark")])
def test_the_apps_page_narrow_and_dark(demo, width, scheme):
    config = tempfile.mkdtemp(prefix="keel-config-")
    os.makedirs(os.path.join(config, "glib-2.0", "settings"))
    with open(os.path.join(config, "glib-2.0", "settings", "keyfile"), "w") as f:
        f.write(f"[io/github/keelapp/Keel]\nwindow-width={width}\nwindow-height=720\n"
                "check-updates-automatically=false\n")
    demo.publish()
    env = {"XDG_CONFIG_HOME": config, "GSETTINGS_BACKEND": "keyfile", "ADW_DEBUG_COLOR_SCHEME": f"prefer-{scheme}"}
    with demo_window(demo, env) as (keel, window):
        wait_for("the window's width", lambda: window.queryComponent().getExtents(0).width <= width + 40)
        open_apps(window)
        press(find(window, "button", "Check for Updates"))
        wait_for("an app's Update button", lambda: update_button(window), timeout=60)
        narrow = "narrow-" if width < 500 else ""
        dark = "-dark" if scheme == "dark" else ""
        screenshot(f"{narrow}apps{dark}")
        press(find(window, "toggle button", "Runtimes"))
        find(window, "label", apps_of(demo.apps(), "runtime")[0]["name"])
        screenshot(f"{narrow}apps-runtimes{dark}")


def test_every_control_on_the_apps_page_has_an_accessible_name(demo):
    from test_keyboard import unnamed_controls
    demo.publish()
    with demo_window(demo) as (keel, window):
        open_apps(window)
        press(find(window, "button", "Check for Updates"))
        _, name = wait_for("an app's Update button", lambda: update_button(window), timeout=60)
        press(find(window, "toggle button", "Runtimes"))
        seen = {"Apps": unnamed_controls(keel.app)}
        press(find(window, "button", f"Uninstall {name}"))
        find(keel.app, DIALOG, f"Uninstall {name}?")
        seen["Uninstall"] = unnamed_controls(keel.app)
        key("Escape")
        missing = {where: found for where, found in seen.items() if found}
        assert not missing, f"controls without an accessible name: {missing}"
