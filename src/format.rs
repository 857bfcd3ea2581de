//! How Keel says things: dates, sizes, package-change summaries, progress, the Updates row and the
//! History entries, as translated text. Pure functions of the data they are given, so pages stay
//! about layout and the wording is tested here.

use gettextrs::{gettext, ngettext};
use gtk::glib;
use keel_api::Operation as OperationKind;
use keel_api::i18n::fill;
use keel_api::model::{CleanupEstimate, ConfigDiff, Deployment, HistoryEntry, SystemStatus};
use keel_api::packages::PackageDiff;

use crate::client::Operation;

mod apps;
pub use apps::*;
pub mod host;

/// A size as people read it, in the locale's units ("12.3 MB").
pub fn size(bytes: u64) -> String {
    glib::format_size(bytes).to_string()
}

/// Calendar days from `then` to today, in local time (yesterday 23:50 is 1 day ago at 00:10).
fn days_ago(then: &glib::DateTime) -> i64 {
    let midnight = |d: &glib::DateTime| {
        let (y, m, day) = d.ymd();
        glib::DateTime::from_local(y, m, day, 0, 0, 0.0).ok()
    };
    let Ok(now) = glib::DateTime::now_local() else {
        return i64::MAX;
    };
    match (midnight(&now), midnight(then)) {
        // Rounded: a day with a daylight-saving change is 23 or 25 hours long.
        (Some(today), Some(that_day)) => {
            (today.difference(&that_day).as_seconds() as f64 / 86_400.0).round() as i64
        }
        _ => i64::MAX,
    }
}

/// A date as people say it: "Today", "Yesterday", "3 days ago", else the locale's date.
pub fn relative_date(seconds: u64) -> String {
    let Ok(then) = glib::DateTime::from_unix_local(seconds as i64) else {
        return String::new();
    };
    match days_ago(&then) {
        d if d < 0 => then.format("%x").map(|s| s.to_string()).unwrap_or_default(),
        0 => gettext("Today"),
        1 => gettext("Yesterday"),
        d if d < 7 => ngettext("{} day ago", "{} days ago", d as u32).replace("{}", &d.to_string()),
        _ => then.format("%x").map(|s| s.to_string()).unwrap_or_default(),
    }
}

/// When something happened, to the minute: "Today, 14:02", "Yesterday, 09:15", else the locale's
/// date and time.
pub fn date_and_time(seconds: u64) -> String {
    let Ok(then) = glib::DateTime::from_unix_local(seconds as i64) else {
        return String::new();
    };
    let time = then
        .format("%H:%M")
        .map(|s| s.to_string())
        .unwrap_or_default();
    let day = relative_date(seconds);
    if (0..2).contains(&days_ago(&then)) {
        // Translators: {day} is "Today" or "Yesterday", {time} a time like "14:02".
        gettext("{day}, {time}")
            .replace("{day}", &day)
            .replace("{time}", &time)
    } else {
        then.format("%x %H:%M")
            .map(|s| s.to_string())
            .unwrap_or(day)
    }
}

/// "Keel Demo OS 41.20261112.0": the OS and a version (or whatever names the commit).
pub fn system_name(os_name: &str, version: &str) -> String {
    format!("{os_name} {version}").trim().to_owned()
}

pub use keel_api::model::short_checksum;

/// What a deployment's /etc changes come to, including the files that could not be compared (never
/// counted as unchanged: as a normal user, /etc/shadow cannot be read).
pub fn config_diff_summary(diff: &ConfigDiff) -> String {
    let changed = (diff.modified.len() + diff.added.len() + diff.removed.len()) as u32;
    let unreadable = diff.unreadable.len() as u32;
    let mut text = if changed == 0 && unreadable == 0 {
        gettext("/etc matches the image’s defaults.")
    } else if changed == 0 {
        gettext("No file in /etc that Keel could read differs from the image’s defaults.")
    } else {
        ngettext(
            "{} file in /etc differs from the image’s defaults.",
            "{} files in /etc differ from the image’s defaults.",
            changed,
        )
        .replace("{}", &changed.to_string())
    };
    if unreadable > 0 {
        text.push(' ');
        text.push_str(
            &ngettext(
                "{} file could not be compared because Keel may not read it; it may differ too.",
                "{} files could not be compared because Keel may not read them; they may differ too.",
                unreadable,
            )
            .replace("{}", &unreadable.to_string()),
        );
    }
    text
}

/// "12 upgraded, 1 added, 1 removed", localised with plurals.
pub fn diff_summary(diff: &PackageDiff) -> String {
    let parts: Vec<String> = [
        (
            diff.upgraded.len(),
            ngettext("{} upgraded", "{} upgraded", diff.upgraded.len() as u32),
        ),
        (
            diff.downgraded.len(),
            ngettext(
                "{} downgraded",
                "{} downgraded",
                diff.downgraded.len() as u32,
            ),
        ),
        (
            diff.added.len(),
            ngettext("{} added", "{} added", diff.added.len() as u32),
        ),
        (
            diff.removed.len(),
            ngettext("{} removed", "{} removed", diff.removed.len() as u32),
        ),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, text)| text.replace("{}", &n.to_string()))
    .collect();
    if parts.is_empty() {
        gettext("No package changes")
    } else {
        parts.join(", ")
    }
}

/// One (name, what changes) line per changed package, upgrades first.
pub fn diff_lines(diff: &PackageDiff) -> Vec<(String, String)> {
    let mut lines = Vec::new();
    for c in &diff.upgraded {
        lines.push((c.name.clone(), format!("{} → {}", c.old_evr, c.new_evr)));
    }
    for c in &diff.downgraded {
        lines.push((
            c.name.clone(),
            gettext("Downgraded: {}").replace("{}", &format!("{} → {}", c.old_evr, c.new_evr)),
        ));
    }
    for p in &diff.added {
        lines.push((p.name.clone(), gettext("Added: {}").replace("{}", &p.evr())));
    }
    for p in &diff.removed {
        lines.push((
            p.name.clone(),
            gettext("Removed: {}").replace("{}", &p.evr()),
        ));
    }
    lines
}

/// The line under a progress bar: the phase (or "Starting…" before the first report), the
/// backend's message when it has one, and the percentage.
pub fn progress_text(phase: &str, message: &str, fraction: f64) -> String {
    let percent = (fraction.clamp(0.0, 1.0) * 100.0).round() as u32;
    let phase = if phase.is_empty() {
        gettext("Starting…")
    } else {
        phase.to_owned()
    };
    let template = if message.is_empty() {
        // Translators: progress of an operation, e.g. "Downloading — 42 %".
        gettext("{phase} — {percent} %")
    } else {
        // Translators: progress of an operation with a detail, e.g. "Downloading: 3 of 5 objects — 42 %".
        gettext("{phase}: {message} — {percent} %")
    };
    fill(
        &template,
        &[
            ("phase", &phase),
            ("message", message),
            ("percent", &percent.to_string()),
        ],
    )
}

/// The subtitle of a deployment's row: when, from where, which commit, what differs from its image.
pub fn deployment_facts(d: &Deployment) -> String {
    let mut facts = vec![relative_date(d.timestamp)];
    let origin = host::origin(d);
    if !origin.is_empty() {
        facts.push(origin);
    }
    facts.push(d.short_checksum().to_owned());
    facts.extend(host::changes_to_image(d));
    facts.join(" · ")
}

/// What the Updates row says about the system (while nothing runs).
#[derive(Debug, PartialEq, Eq)]
pub struct UpdateSummary {
    pub title: String,
    pub subtitle: String,
}

pub fn update_summary(status: &SystemStatus) -> UpdateSummary {
    if let Some(update) = &status.cached_update {
        let version = update
            .version
            .clone()
            .unwrap_or_else(|| update.checksum.clone());
        return UpdateSummary {
            title: gettext("{} is available")
                .replace("{}", &system_name(&status.os_name, &version)),
            subtitle: format!(
                "{} · {}",
                relative_date(update.timestamp),
                diff_summary(&update.diff)
            ),
        };
    }
    // Which deployment is an update waiting for a restart is the backend's answer.
    let waiting = status
        .pending_update
        .as_deref()
        .and_then(|id| status.find(id));
    if let Some(next) = waiting {
        let name = system_name(&status.os_name, next.version.as_deref().unwrap_or_default());
        return UpdateSummary {
            title: gettext("The update is ready to use after a restart"),
            // Translators: {} is a system and its version, e.g. "Fedora Silverblue 41.20261125.0".
            subtitle: gettext("{} starts at the next boot").replace("{}", &name),
        };
    }
    let booted = status
        .booted()
        .and_then(|d| d.version.clone())
        .unwrap_or_default();
    UpdateSummary {
        title: gettext("The system is up to date"),
        subtitle: gettext("Running {}").replace("{}", &system_name(&status.os_name, &booted)),
    }
}

/// The Clean Up dialog's body: which deployments go and the space freed.
pub fn cleanup_summary(estimate: &CleanupEstimate, status: Option<&SystemStatus>) -> String {
    let size = size(estimate.bytes);
    if estimate.deployments.is_empty() {
        return if estimate.bytes == 0 {
            gettext(
                "There is nothing to clean up: only the booted and pinned deployments remain, and the repository holds nothing unused.",
            )
        } else {
            // Translators: {} is a size, like "12.3 MB".
            gettext(
                "This prunes unused data from the repository and frees {}. Every deployment stays.",
            )
            .replace("{}", &size)
        };
    }
    let names: Vec<String> = estimate
        .deployments
        .iter()
        .map(|id| {
            status
                .and_then(|s| s.find(id))
                .and_then(|d| d.version.clone())
                .unwrap_or_else(|| short_checksum(id).to_owned())
        })
        .collect();
    let n = estimate.deployments.len() as u32;
    // Translators: {n} is a number, {list} versions, {size} a size like "12.3 MB".
    ngettext(
        "This removes {n} deployment ({list}) and frees {size}. The booted and pinned deployments stay.",
        "This removes {n} deployments ({list}) and frees {size}. The booted and pinned deployments stay.",
        n,
    )
    .replace("{n}", &n.to_string())
    .replace("{list}", &names.join(", "))
    .replace("{size}", &size)
}

/// An operation's name as the History page lists it.
pub fn operation_name(op: OperationKind) -> String {
    match op {
        OperationKind::Update => gettext("Update"),
        OperationKind::Download => gettext("Download"),
        OperationKind::Check => gettext("Check for Updates"),
        OperationKind::Rollback => gettext("Rollback"),
        OperationKind::Pin => gettext("Pin"),
        OperationKind::Unpin => gettext("Unpin"),
        OperationKind::Remove => gettext("Remove Deployment"),
        OperationKind::Install => gettext("Add Packages"),
        OperationKind::Uninstall => gettext("Remove Packages"),
        OperationKind::ResetPackages => gettext("Reset Packages"),
        OperationKind::Cleanup => gettext("Clean Up"),
        OperationKind::Reboot => gettext("Restart"),
        // Translators: a History entry; apps are Flatpak apps.
        OperationKind::AppsCheck => gettext("Check for App Updates"),
        // Translators: a History entry; apps are Flatpak apps.
        OperationKind::AppsUpdate => gettext("Update Apps"),
        // Translators: a History entry; apps are Flatpak apps.
        OperationKind::AppsUninstall => gettext("Uninstall Apps"),
        // Translators: a History entry; runtimes no installed app uses.
        OperationKind::AppsRemoveUnused => gettext("Remove Unused Runtimes"),
        // Translators: a History entry: the system and then every app were updated.
        OperationKind::UpdateAll => gettext("Update All"),
    }
}

/// "Update — 41.1 → 41.2": what was done, and between which versions.
pub fn history_title(entry: &HistoryEntry) -> String {
    let what = operation_name(entry.operation);
    match (&entry.from_version, &entry.to_version) {
        (Some(a), Some(b)) if a != b => format!("{what} — {a} → {b}"),
        _ => what,
    }
}

/// "Today, 14:02 · Updated": when, and how it ended.
pub fn history_subtitle(entry: &HistoryEntry) -> String {
    let outcome = if entry.success {
        entry.message.clone()
    } else {
        gettext("Failed: {}").replace("{}", &entry.message)
    };
    format!("{} · {outcome}", date_and_time(entry.time))
}

/// The toast after an operation succeeded (a check says what it found: see `check_result`);
/// `can_reboot` is false where a restart is only simulated (the demo, a sysroot not running).
pub fn success_message(op: &Operation, can_reboot: bool) -> String {
    match op {
        Operation::Check => gettext("Checked for updates"),
        Operation::Update => gettext("The update is ready; restart to use it"),
        Operation::Rollback(_) => gettext("Rolled back; it takes effect at the next boot"),
        Operation::Pin(_) => gettext("Pinned"),
        Operation::Unpin(_) => gettext("Unpinned"),
        Operation::Remove(_) => gettext("Deployment removed"),
        Operation::Install(names) => {
            gettext("{} will be added at the next boot").replace("{}", &names.join(", "))
        }
        Operation::Uninstall(names) => {
            gettext("{} will be removed at the next boot").replace("{}", &names.join(", "))
        }
        Operation::ResetPackages => {
            gettext("All layered packages will be removed at the next boot")
        }
        Operation::Cleanup { .. } => gettext("Cleaned up"),
        Operation::Reboot if can_reboot => gettext("Restarting…"),
        Operation::Reboot => gettext("Restarted (simulated)"),
        Operation::UpdateAll => gettext("The system and the apps are updated"),
        Operation::AppsCheck => gettext("Checked for app updates"),
        Operation::AppsUpdate(_) => gettext("Apps updated"),
        Operation::AppsUninstall { .. } => gettext("Uninstalled"),
        Operation::AppsRemoveUnused => gettext("Unused runtimes removed"),
    }
}

/// The toast after a check: whether it found an update.
pub fn check_result(update_found: bool) -> String {
    if update_found {
        gettext("An update is available")
    } else {
        gettext("The system is up to date")
    }
}

#[cfg(test)]
mod tests {
    use keel_api::model::{Deployment, Update};
    use keel_api::packages::{Package, PackageChange};

    use super::*;

    #[test]
    fn days_are_calendar_days() {
        let now = glib::DateTime::now_local().unwrap();
        assert_eq!(days_ago(&now), 0);
        let (y, m, d) = now.ymd();
        let midnight = glib::DateTime::from_local(y, m, d, 0, 0, 0.0).unwrap();
        // A minute before midnight was yesterday, however few hours ago that is.
        assert_eq!(days_ago(&midnight.add_minutes(-1).unwrap()), 1);
        assert_eq!(days_ago(&midnight.add_days(-6).unwrap()), 6);
        assert_eq!(days_ago(&midnight.add_days(1).unwrap()), -1);
    }

    #[test]
    fn history_times_say_the_day_and_the_minute() {
        let now = glib::DateTime::now_local().unwrap();
        let text = date_and_time(now.to_unix() as u64);
        assert!(text.starts_with("Today, "), "{text}");
        assert!(
            text.ends_with(&now.format("%H:%M").unwrap().to_string()),
            "{text}"
        );
        let old = date_and_time(now.add_days(-30).unwrap().to_unix() as u64);
        assert!(!old.contains("Today") && old.contains(':'), "{old}");
    }

    #[test]
    fn relative_dates() {
        let now = glib::DateTime::now_local().unwrap();
        let (y, m, d) = now.ymd();
        let noon = glib::DateTime::from_local(y, m, d, 12, 0, 0.0).unwrap();
        let at = |days: i32| noon.add_days(days).unwrap().to_unix() as u64;
        assert_eq!(relative_date(at(0)), "Today");
        assert_eq!(relative_date(at(-1)), "Yesterday");
        assert_eq!(relative_date(at(-3)), "3 days ago");
        assert!(!relative_date(at(-30)).contains("ago"));
    }

    #[test]
    fn progress_says_phase_message_and_percent() {
        assert_eq!(
            progress_text("Downloading", "", 0.424),
            "Downloading — 42 %"
        );
        assert_eq!(
            progress_text("Downloading", "3 of 5 objects", 1.0),
            "Downloading: 3 of 5 objects — 100 %"
        );
        assert_eq!(progress_text("", "", 0.0), "Starting… — 0 %");
        // A message that looks like a placeholder is shown as it is.
        assert_eq!(
            progress_text("Pulling", "{phase}", 0.5),
            "Pulling: {phase} — 50 %"
        );
    }

    #[test]
    fn config_changes_count_unreadable_files_apart() {
        let list = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let mut diff = ConfigDiff::default();
        assert_eq!(
            config_diff_summary(&diff),
            "/etc matches the image’s defaults."
        );
        diff.unreadable = list(&["shadow", "sudoers"]);
        assert_eq!(
            config_diff_summary(&diff),
            "No file in /etc that Keel could read differs from the image’s defaults. 2 files could not be compared because Keel may not read them; they may differ too."
        );
        diff.modified = list(&["motd"]);
        diff.unreadable = list(&["shadow"]);
        assert_eq!(
            config_diff_summary(&diff),
            "1 file in /etc differs from the image’s defaults. 1 file could not be compared because Keel may not read it; it may differ too."
        );
    }

    #[test]
    fn only_a_simulated_restart_says_so() {
        assert_eq!(success_message(&Operation::Reboot, true), "Restarting…");
        assert_eq!(
            success_message(&Operation::Reboot, false),
            "Restarted (simulated)"
        );
    }

    /// Versions "41.N" are made on day N.
    fn deployment(index: u32, version: &str, booted: bool, pending: bool) -> Deployment {
        let day: u64 = version.rsplit('.').next().unwrap().parse().unwrap();
        Deployment {
            id: format!("demo-{index}"),
            index,
            timestamp: day * 86_400,
            version: Some(version.to_owned()),
            booted,
            pending,
            ..Default::default()
        }
    }

    fn status(deployments: Vec<Deployment>) -> SystemStatus {
        SystemStatus {
            os_name: "Keel Demo OS".into(),
            deployments,
            ..Default::default()
        }
    }

    #[test]
    fn a_deployed_update_is_ready_after_a_restart() {
        let mut s = status(vec![
            deployment(0, "41.3", false, true),
            deployment(1, "41.2", true, false),
        ]);
        s.pending_update = Some("demo-0".into());
        assert_eq!(
            update_summary(&s),
            UpdateSummary {
                title: "The update is ready to use after a restart".into(),
                subtitle: "Keel Demo OS 41.3 starts at the next boot".into(),
            }
        );
    }

    #[test]
    fn up_to_date_when_nothing_newer_waits() {
        let booted_first = status(vec![
            deployment(0, "41.2", true, false),
            deployment(1, "41.1", false, false),
        ]);
        // A package layered on the same version waits for a restart, but the backend names no
        // update waiting (backend/src/driver tells these apart).
        let layered = status(vec![
            deployment(0, "41.2", false, true),
            deployment(1, "41.2", true, false),
        ]);
        // After a rollback the older deployment boots next: no update either.
        let rolled_back = status(vec![
            deployment(0, "41.1", false, true),
            deployment(1, "41.2", true, false),
        ]);
        for s in [booted_first, layered, rolled_back] {
            assert_eq!(
                update_summary(&s),
                UpdateSummary {
                    title: "The system is up to date".into(),
                    subtitle: "Running Keel Demo OS 41.2".into(),
                }
            );
        }
    }

    #[test]
    fn an_update_on_the_server_comes_first() {
        let mut s = status(vec![deployment(0, "41.2", true, false)]);
        s.cached_update = Some(Update {
            version: Some("41.3".into()),
            diff: PackageDiff {
                upgraded: vec![PackageChange {
                    name: "bash".into(),
                    old_evr: "5.2-1".into(),
                    new_evr: "5.2-2".into(),
                    arch: "x86_64".into(),
                }],
                added: vec![Package::new("fish", "0", "3.7", "1", "x86_64")],
                ..Default::default()
            },
            ..Default::default()
        });
        let summary = update_summary(&s);
        assert_eq!(summary.title, "Keel Demo OS 41.3 is available");
        assert!(
            summary.subtitle.ends_with(" · 1 upgraded, 1 added"),
            "{}",
            summary.subtitle
        );
    }

    #[test]
    fn package_changes_are_summed_up_and_listed() {
        assert_eq!(diff_summary(&PackageDiff::default()), "No package changes");
        let diff = PackageDiff {
            removed: vec![Package::new("nano", "0", "8.1", "1.fc41", "x86_64")],
            ..Default::default()
        };
        assert_eq!(diff_summary(&diff), "1 removed");
        assert_eq!(
            diff_lines(&diff),
            vec![("nano".to_owned(), "Removed: 8.1-1.fc41".to_owned())]
        );
    }

    #[test]
    fn cleanup_names_what_goes_and_what_it_frees() {
        let nothing = CleanupEstimate::default();
        assert!(cleanup_summary(&nothing, None).starts_with("There is nothing to clean up"));
        let s = status(vec![
            deployment(0, "41.2", true, false),
            deployment(1, "41.1", false, false),
        ]);
        let estimate = CleanupEstimate {
            deployments: vec!["demo-1".into()],
            bytes: 2_000_000,
        };
        let text = cleanup_summary(&estimate, Some(&s));
        assert!(
            text.starts_with("This removes 1 deployment (41.1) and frees 2.0"),
            "{text}"
        );
    }

    #[test]
    fn history_entries_say_what_when_and_how_it_ended() {
        let entry = HistoryEntry {
            time: glib::DateTime::now_local().unwrap().to_unix() as u64,
            operation: OperationKind::Update,
            from_version: Some("41.1".into()),
            to_version: Some("41.2".into()),
            success: false,
            message: "No space left".into(),
            diff: None,
        };
        assert_eq!(history_title(&entry), "Update — 41.1 → 41.2");
        let subtitle = history_subtitle(&entry);
        assert!(
            subtitle.starts_with("Today, ") && subtitle.ends_with(" · Failed: No space left"),
            "{subtitle}"
        );
    }
}
