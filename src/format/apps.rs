//! How Keel speaks of the installed Flatpaks: a row's facts, end of life, what a check found, the
//! confirmations of Uninstall and Remove Unused Runtimes. Pure functions, tested here.

use gettextrs::pgettext;
use keel_api::i18n::{fill, gettext, ngettext, plural_count};

use super::size;

/// Which installation an app is in, as a word for its row: the user's, the system's, or the
/// name of a configured one (from /etc/flatpak/installations.d), as it is.
pub fn installation_name(installation: &str) -> String {
    match installation {
        // Translators: a Flatpak installation: installed for this user only.
        "user" => pgettext("installation", "User"),
        // Translators: a Flatpak installation: installed for every user of the computer.
        "system" => pgettext("installation", "System"),
        other => other.to_owned(),
    }
}

/// The line under an app's name: "1.2.0 · 4.1 MB · User" (what is unknown is left out).
pub fn app_facts(version: &str, installed_size: u64, installation: &str) -> String {
    let mut facts = Vec::new();
    if !version.is_empty() {
        facts.push(version.to_owned());
    }
    if installed_size > 0 {
        facts.push(size(installed_size));
    }
    if !installation.is_empty() {
        facts.push(installation_name(installation));
    }
    facts.join(" · ")
}

/// What an app's row says when its developers no longer maintain it: what replaces it, else
/// their reason.
pub fn end_of_life(reason: &str, rebase: &str) -> String {
    if !rebase.is_empty() {
        fill(
            // Translators: {id} is the Flatpak id of the app that replaces this one.
            &gettext("No longer maintained; replaced by {id}"),
            &[("id", rebase)],
        )
    } else if reason.is_empty() {
        gettext("No longer maintained")
    } else {
        fill(
            // Translators: {reason} is the sentence of its developers, often in English.
            &gettext("No longer maintained: {reason}"),
            &[("reason", reason)],
        )
    }
}

/// "2 updates available" over the apps list, or that all are current.
pub fn apps_updates_title(updates: u32) -> String {
    if updates == 0 {
        gettext("All apps are up to date")
    } else {
        fill(
            &ngettext("{n} update available", "{n} updates available", updates),
            &[("n", &updates.to_string())],
        )
    }
}

/// The toast after a check of the apps.
pub fn apps_check_result(updates: u32) -> String {
    if updates == 0 {
        gettext("All apps are up to date")
    } else {
        fill(
            &ngettext(
                "{n} app update is available",
                "{n} app updates are available",
                updates,
            ),
            &[("n", &updates.to_string())],
        )
    }
}

/// The toast after checking the OS and the apps together.
pub fn check_all_result(os_update: bool, app_updates: u32) -> String {
    let n = app_updates.to_string();
    match (os_update, app_updates) {
        (false, 0) => gettext("The system and all apps are up to date"),
        (true, 0) => gettext("A system update is available; all apps are up to date"),
        (false, _) => fill(
            &ngettext(
                "The system is up to date; {n} app update is available",
                "The system is up to date; {n} app updates are available",
                app_updates,
            ),
            &[("n", &n)],
        ),
        (true, _) => fill(
            &ngettext(
                "A system update and {n} app update are available",
                "A system update and {n} app updates are available",
                app_updates,
            ),
            &[("n", &n)],
        ),
    }
}

/// What the System page's Updates row adds about the apps: "2 app updates waiting".
pub fn app_updates_line(updates: u32) -> Option<String> {
    (updates > 0).then(|| {
        fill(
            &ngettext("{n} app update waiting", "{n} app updates waiting", updates),
            &[("n", &updates.to_string())],
        )
    })
}

/// The runtimes' section: how many, and what the unused ones take.
pub fn runtimes_summary(runtimes: u32, unused: u32, unused_size: u64) -> String {
    let count = fill(
        &ngettext("{n} runtime", "{n} runtimes", runtimes),
        &[("n", &runtimes.to_string())],
    );
    if unused == 0 {
        return count;
    }
    fill(
        // Translators: {count} is e.g. "3 runtimes", {n} a number, {size} a size like "300 MB".
        &ngettext(
            "{count} · {n} unused, {size}",
            "{count} · {n} unused, {size}",
            unused,
        ),
        &[
            ("count", &count),
            ("n", &unused.to_string()),
            ("size", &size(unused_size)),
        ],
    )
}

/// The Uninstall dialog's body: what goes and what stays.
pub fn uninstall_body(name: &str) -> String {
    fill(
        // Translators: {name} is the name of an app.
        &gettext(
            "{name} will be removed from this computer. Its data in your home folder — settings and the files it keeps for itself — is kept, so it is there again if you reinstall it, unless you choose to delete it.",
        ),
        &[("name", name)],
    )
}

/// The Remove Unused Runtimes dialog's body: how many go and the space freed.
pub fn remove_unused_body(runtimes: u32, bytes: u64) -> String {
    fill(
        // Translators: {n} is a number, {size} a size like "300 MB".
        &ngettext(
            "{n} runtime that no installed app uses will be removed, freeing {size}. Apps that need it again download it when they are installed.",
            "{n} runtimes that no installed app uses will be removed, freeing {size}. Apps that need them again download them when they are installed.",
            plural_count(u64::from(runtimes)),
        ),
        &[("n", &runtimes.to_string()), ("size", &size(bytes))],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_leave_out_what_is_unknown() {
        assert_eq!(app_facts("1.2.0", 0, "user"), "1.2.0 · User");
        assert_eq!(app_facts("", 0, "system"), "System");
        assert_eq!(app_facts("", 0, "extra"), "extra");
        assert_eq!(app_facts("", 0, ""), "");
        assert_eq!(
            app_facts("2.0", 4_100_000, "user"),
            format!("2.0 · {} · User", size(4_100_000))
        );
    }

    #[test]
    fn end_of_life_names_the_replacement_first() {
        assert_eq!(
            end_of_life("Use the new one", "org.test.New"),
            "No longer maintained; replaced by org.test.New"
        );
        assert_eq!(
            end_of_life("Use the new one", ""),
            "No longer maintained: Use the new one"
        );
        assert_eq!(end_of_life("", ""), "No longer maintained");
        // A reason that looks like a placeholder is shown as it is.
        assert_eq!(end_of_life("{id}", ""), "No longer maintained: {id}");
    }

    #[test]
    fn checks_say_what_they_found() {
        assert_eq!(apps_check_result(0), "All apps are up to date");
        assert_eq!(apps_check_result(1), "1 app update is available");
        assert_eq!(apps_check_result(3), "3 app updates are available");
        assert_eq!(
            check_all_result(false, 0),
            "The system and all apps are up to date"
        );
        assert_eq!(
            check_all_result(true, 0),
            "A system update is available; all apps are up to date"
        );
        assert_eq!(
            check_all_result(false, 2),
            "The system is up to date; 2 app updates are available"
        );
        assert_eq!(
            check_all_result(true, 1),
            "A system update and 1 app update are available"
        );
        assert_eq!(apps_updates_title(0), "All apps are up to date");
        assert_eq!(apps_updates_title(2), "2 updates available");
        assert_eq!(app_updates_line(0), None);
        assert_eq!(app_updates_line(1).as_deref(), Some("1 app update waiting"));
    }

    #[test]
    fn runtimes_and_what_removing_the_unused_frees() {
        assert_eq!(runtimes_summary(1, 0, 0), "1 runtime");
        let summary = runtimes_summary(3, 1, 300_000_000);
        assert_eq!(
            summary,
            format!("3 runtimes · 1 unused, {}", size(300_000_000))
        );
        let body = remove_unused_body(2, 300_000_000);
        assert!(
            body.starts_with("2 runtimes that no installed app uses"),
            "{body}"
        );
        assert!(
            body.contains(&format!("freeing {}.", size(300_000_000))),
            "{body}"
        );
        assert!(uninstall_body("Hello").starts_with("Hello will be removed"));
    }
}
