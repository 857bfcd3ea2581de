//! How the command line prints what it reads and does: `rpm-ostree status`-like text, JSON, and a
//! progress line on a terminal. Every sentence goes through gettext.

use std::io::{IsTerminal, Write};

use keel_api::i18n::{fill, gettext};
use keel_backend::apps::App;
use keel_backend::format;
use keel_backend::model::{ConfigDiff, Deployment, HistoryEntry, SystemStatus, Update};
use keel_backend::packages::PackageDiff;
use keel_backend::progress::{Progress, ProgressUpdate};

pub(crate) fn print_config_diff(diff: &ConfigDiff) {
    for (mark, files) in [
        ("M", &diff.modified),
        ("A", &diff.added),
        ("D", &diff.removed),
        ("?", &diff.unreadable),
    ] {
        for f in files {
            println!("{mark}    /etc/{f}");
        }
    }
    if !diff.unreadable.is_empty() {
        // Translators: explains the files marked “?” above it.
        let note =
            gettext("? could not be compared (not readable here); run as root to compare them.");
        println!("{note}");
    }
}

pub(crate) fn print_history(history: &[HistoryEntry]) {
    for e in history {
        let versions = match (&e.from_version, &e.to_version) {
            (Some(a), Some(b)) => format!(" {a} → {b}"),
            // Translators: a history line's version, when it stayed the same.
            (Some(a), None) => fill(&gettext(" on {version}"), &[("version", a)]),
            _ => String::new(),
        };
        let result = if e.success {
            // Translators: a history line's result.
            gettext("ok")
        } else {
            // Translators: a history line's result.
            gettext("FAILED")
        };
        println!(
            "{}  {:<14} {result}{versions}: {}",
            format::iso_time(e.time),
            e.operation,
            e.message
        );
    }
}

/// The apps, then the runtimes: name, id, version, branch, installation, size, and what to know
/// (an update waiting, end of life, unused, unreadable).
pub(crate) fn print_apps(apps: &[App]) {
    let (runtimes, apps): (Vec<&App>, Vec<&App>) = apps.iter().partition(|a| a.is_runtime());
    // Translators: headings of `keel-backend apps list`.
    for (heading, list) in [(gettext("Apps:"), apps), (gettext("Runtimes:"), runtimes)] {
        if list.is_empty() {
            continue;
        }
        println!("{heading}");
        for a in list {
            let mut notes = Vec::new();
            if a.has_update() {
                // Translators: a note in `keel-backend apps list`.
                notes.push(gettext("update available"));
            }
            if !a.end_of_life.is_empty() {
                let note = if a.end_of_life_rebase.is_empty() {
                    // Translators: a note in `keel-backend apps list`; {reason} is the publisher's.
                    fill(
                        &gettext("end of life: {reason}"),
                        &[("reason", &a.end_of_life)],
                    )
                } else {
                    // Translators: a note in `keel-backend apps list`; {ref} replaces the app.
                    fill(
                        &gettext("end of life, replaced by {ref}"),
                        &[("ref", &a.end_of_life_rebase)],
                    )
                };
                notes.push(note);
            }
            if a.unused {
                // Translators: a note in `keel-backend apps list`: no installed app uses it.
                notes.push(gettext("unused"));
            }
            if !a.broken.is_empty() {
                // Translators: a note in `keel-backend apps list`; {reason} says what is wrong.
                notes.push(fill(&gettext("broken: {reason}"), &[("reason", &a.broken)]));
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!("  ({})", notes.join("; "))
            };
            println!(
                "  {:<20} {:<32} {:<10} {:<8} {:<8} {:>9}{notes}",
                a.name,
                a.id,
                a.version,
                a.branch,
                a.installation,
                format::size(a.installed_size)
            );
        }
    }
}

pub(crate) fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("the model always serializes")
    );
}

/// A sentence about a deployment: `{deployment}` becomes its version (or checksum) and id.
pub(crate) fn described(template: String, d: &Deployment) -> String {
    let name = format!("{} {}", keel_backend::driver::name(d), d.id);
    fill(&template, &[("deployment", &name)])
}

/// A sentence with `{size}`, an amount of disk space.
pub(crate) fn freed_text(template: String, bytes: u64) -> String {
    fill(&template, &[("size", &format::size(bytes))])
}

/// A sentence with `{dir}`, a folder.
#[cfg(feature = "demo")]
pub(crate) fn in_dir(template: String, dir: &std::path::Path) -> String {
    fill(&template, &[("dir", &dir.display().to_string())])
}

/// Reads like `rpm-ostree status`: ● marks the booted deployment, the first one boots next.
pub(crate) fn print_status(status: &SystemStatus) {
    let system = if status.demo {
        // Translators: {name} is the system's name ("Keel Demo OS").
        gettext("System: {name} (Keel demo)")
    } else {
        // Translators: {name} is the system's name ("Fedora Linux 41").
        gettext("System: {name}")
    };
    println!("{}", fill(&system, &[("name", &status.os_name)]));
    // Translators: {path} is a folder.
    let sysroot = gettext("Sysroot: {path}");
    println!("{}", fill(&sysroot, &[("path", &status.sysroot)]));
    // Translators: {driver} is `rpm-ostree` (rpm-ostreed manages the system) or `ostree` (Keel
    // does, with libostree).
    let driver = gettext("Managed by: {driver}");
    println!("{}", fill(&driver, &[("driver", &status.driver)]));
    if status.booted_emulated {
        println!(
            "{}",
            gettext("Note: this sysroot is not running; its booted deployment is Keel’s record.")
        );
    }
    println!("{}", gettext("Deployments:"));
    for d in &status.deployments {
        let mark = if d.booted { "●" } else { " " };
        let mut role = Vec::new();
        if d.default {
            // Translators: a deployment's role in `keel-backend status`.
            role.push(gettext("next boot"));
        }
        if d.pending {
            // Translators: a deployment's role in `keel-backend status`.
            role.push(gettext("pending"));
        }
        if d.rollback {
            // Translators: a deployment's role in `keel-backend status`.
            role.push(gettext("rollback"));
        }
        if d.staged {
            // Translators: a deployment's role in `keel-backend status`.
            role.push(gettext("staged"));
        }
        let role = if role.is_empty() {
            String::new()
        } else {
            format!(" ({})", role.join(", "))
        };
        let origin = d.origin.as_deref().or(d.container_image.as_deref());
        println!("{mark} {}{role}", origin.unwrap_or(&d.checksum));
        let field = |name: &str, value: &str| println!("{name:>24}: {value}");
        field(
            "Version",
            &format!(
                "{} ({})",
                d.version.as_deref().unwrap_or("-"),
                format::iso_time(d.timestamp)
            ),
        );
        if let Some(base) = &d.base_checksum {
            field("BaseCommit", base);
        }
        field("Commit", &d.checksum);
        if !d.layered_packages.is_empty() {
            field("LayeredPackages", &d.layered_packages.join(" "));
        }
        let inactive: Vec<&str> = d
            .requested_packages
            .iter()
            .filter(|p| !d.layered_packages.contains(p))
            .map(String::as_str)
            .collect();
        if !inactive.is_empty() {
            field("InactiveRequests", &inactive.join(" "));
        }
        if !d.local_packages.is_empty() {
            field("LocalPackages", &d.local_packages.join(" "));
        }
        if !d.removed_packages.is_empty() {
            field("RemovedBasePackages", &d.removed_packages.join(" "));
        }
        let replaced: Vec<String> = d
            .replaced_packages
            .iter()
            .map(|c| format!("{} {} → {}", c.name, c.old_evr, c.new_evr))
            .collect();
        if !replaced.is_empty() {
            field("ReplacedBasePackages", &replaced.join(", "));
        }
        if d.pinned {
            field("Pinned", "yes");
        }
        println!();
    }
    if let Some(update) = &status.cached_update {
        print_update(update);
    }
}

pub(crate) fn print_update(update: &Update) {
    let available = if update.downloaded {
        // Translators: {version} is a version, {time} when it was made, {changes} a summary such
        // as "12 upgraded, 1 added".
        gettext("Available update: {version} ({time}), {changes}, downloaded")
    } else {
        // Translators: as above, not downloaded yet.
        gettext("Available update: {version} ({time}), {changes}")
    };
    println!(
        "{}",
        fill(
            &available,
            &[
                (
                    "version",
                    update.version.as_deref().unwrap_or(&update.checksum)
                ),
                ("time", &format::iso_time(update.timestamp)),
                ("changes", &update.diff.summary()),
            ],
        )
    );
    for a in &update.advisories {
        println!(
            "  {} ({}): {}",
            a.id,
            a.severity_name(),
            a.packages.join(" ")
        );
    }
}

pub(crate) fn print_diff(diff: &PackageDiff) {
    // Translators: the labels of the lines of `keel-backend diff` (aligned when printed).
    let labels = [
        gettext("Upgraded:"),
        gettext("Downgraded:"),
        gettext("Added:"),
        gettext("Removed:"),
    ];
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    for (label, changes) in labels[..2].iter().zip([&diff.upgraded, &diff.downgraded]) {
        for c in changes {
            println!("{label:<width$} {} {} → {}", c.name, c.old_evr, c.new_evr);
        }
    }
    for (label, packages) in labels[2..].iter().zip([&diff.added, &diff.removed]) {
        for p in packages {
            println!("{label:<width$} {}", p.nevra());
        }
    }
    println!("{}", diff.summary());
}

/// Progress on a terminal: one line, redrawn; nothing when stderr is not a terminal.
pub(crate) struct Terminal {
    enabled: bool,
}

impl Terminal {
    pub(crate) fn new() -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
        }
    }
}

impl Progress for Terminal {
    fn report(&self, update: &ProgressUpdate) {
        if !self.enabled {
            return;
        }
        let filled = (update.fraction * 30.0).round() as usize;
        let bar = format!("{}{}", "#".repeat(filled), "-".repeat(30 - filled.min(30)));
        let mut err = std::io::stderr().lock();
        let line = fill(
            // Translators: a progress line on a terminal, after its bar; {percent} is a number.
            &gettext("{percent}% {phase}: {message}"),
            &[
                ("percent", &format!("{:>3.0}", update.fraction * 100.0)),
                ("phase", &update.phase),
                ("message", &update.message),
            ],
        );
        let _ = write!(err, "\r\x1b[K[{bar}] {line}");
        if update.fraction >= 1.0 {
            let _ = writeln!(err);
        }
        let _ = err.flush();
    }
}
