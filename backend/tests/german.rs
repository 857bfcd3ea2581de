//! The backend speaks the language of the session that started it: under a German locale, with
//! po/de.po compiled where an installed build keeps it, the sentences a person reads from the real
//! `keel-backend` — errors, history entries, what the command line reports — are German.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Demo, text};

/// po/de.po compiled to `DIR/de/LC_MESSAGES/keel.mo`, as build-aux/uninstalled-env does.
fn german_translations() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let messages = dir.path().join("de/LC_MESSAGES");
    std::fs::create_dir_all(&messages).unwrap();
    let po = Path::new(env!("CARGO_MANIFEST_DIR")).join("../po/de.po");
    let out = Command::new("msgfmt")
        .arg("--check")
        .arg("-o")
        .arg(messages.join("keel.mo"))
        .arg(&po)
        .output()
        .unwrap();
    assert!(out.status.success(), "msgfmt failed: {}", text(&out));
    dir
}

struct German {
    demo: Demo,
    translations: tempfile::TempDir,
}

impl German {
    fn new() -> Self {
        Self {
            demo: Demo::new(),
            translations: german_translations(),
        }
    }

    /// Runs `keel-backend --sysroot … ARGS` in a German session.
    fn run(&self, args: &[&str]) -> Output {
        self.demo
            .command(args)
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env("LANG", "de_DE.UTF-8")
            .env("LANGUAGE", "de")
            .env("KEEL_LOCALEDIR", self.translations.path())
            .output()
            .unwrap()
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
    let history = german.ok(&["history"]);
    assert_german(&history, &format!("{target} wird als Nächstes gestartet"));
}
