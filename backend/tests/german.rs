//! The backend speaks the language of the session that started it: under a German locale, with
//! po/de.po compiled where an installed build keeps it, the sentences a person reads from the real
//! `keel-backend` — errors, history entries, what the command line reports — are German.

mod common;

use std::process::{Command, Output, Stdio};

use common::{Demo, text};

struct German {
    demo: Demo,
    translations: tempfile::TempDir,
}

impl German {
    fn new() -> Self {
        Self {
            demo: Demo::new(),
            translations: common::german_translations(),
        }
    }

    /// Makes `command` run in a German session.
    fn session<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        common::german_session(command, self.translations.path())
    }

    /// Runs `keel-backend --sysroot … ARGS` in a German session.
    fn run(&self, args: &[&str]) -> Output {
        self.session(&mut self.demo.command(args)).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        common::succeeded(args, self.run(args))
    }

    fn fails(&self, args: &[&str], code: i32) -> String {
        common::failed(args, self.run(args), code)
    }
}

/// Fails with a hint when the output is English: the sentence or the locale is missing.
fn assert_german(output: &str, german: &str) {
    assert!(
        output.contains(german),
        "expected “{german}” in:\n{output}\n(is the sentence translatable, translated in po/de.po, \
         and the de_DE.UTF-8 locale installed? `locale -a` lists it)"
    );
}

#[test]
fn errors_are_german() {
    let german = German::new();
    let err = german.fails(&["pin", "7"], 3);
    assert_german(
        &err,
        "Es gibt kein Deployment „7“. Geben Sie eine Nummer von 0 bis",
    );
    let err = german.fails(&["uninstall", "htop"], 3);
    assert_german(
        &err,
        "htop ist nicht überlagert und kann daher nicht entfernt werden.",
    );
}

#[test]
fn history_entries_and_what_the_command_line_says_are_german() {
    let german = German::new();
    let before = german.demo.status();
    let target = before.deployments[1].version.clone().unwrap();
    let said = german.ok(&["rollback"]);
    assert_german(&said, &format!("{target} "));
    assert_german(&said, "wird als Nächstes gestartet.");
    // Sizes too, with a decimal comma: a cleanup would remove the rollback deployment.
    let estimate = german.ok(&["cleanup", "--dry-run"]);
    let freed = estimate.lines().last().unwrap_or_default();
    assert!(
        freed.starts_with("würde ") && freed.ends_with("B freigeben") && freed.contains(','),
        "{estimate}"
    );
    let history = german.ok(&["history"]);
    assert_german(&history, &format!("{target} wird als Nächstes gestartet"));
}

#[test]
fn progress_phases_are_german() {
    let german = German::new();
    // The command line draws its progress line only on a terminal: `script` gives it one.
    let backend = format!(
        "'{}' --sysroot '{}' rollback",
        common::bin(),
        german.demo.sysroot().display()
    );
    let out = german
        .session(&mut Command::new("script"))
        .args(["--quiet", "--return", "--command", &backend, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keel-backend rollback failed: {}",
        text(&out)
    );
    let terminal = String::from_utf8_lossy(&out.stdout);
    assert_german(
        &terminal,
        "Zurücksetzen: Die Startreihenfolge wird geändert",
    );
    assert_german(&terminal, "100 % Fertig: Zurückgesetzt");
}

#[test]
fn update_all_says_in_german_what_happened_to_each_part() {
    let german = German::new();
    german.demo.set_remote_url("http://127.0.0.1:9");
    let err = german.fails(&["--flatpak-installations", "demo", "update-all"], 1);
    assert_german(&err, "Das System wurde nicht aktualisiert:");
    let history = german.ok(&["history"]);
    let last = history.lines().last().unwrap_or_default();
    assert!(last.contains("update-all"), "{history}");
    assert_german(last, "Das System wurde nicht aktualisiert:");
}
