//! The double `rpm-ostree` command (and `pkexec`) as Keel's sandbox route runs them: on PATH,
//! against the rpm-ostreed double, printing what the recorded rpm-ostree printed
//! (tests/data/rpmostreed/cli-*.txt) with its exit codes.

mod common;

use std::process::Output;

use common::data;
use keel_backend::driver::SystemDriver;
use keel_devtools::double::{Harness, Hooks, Options};

fn rpm_ostree(harness: &Harness, args: &[&str]) -> Output {
    harness
        .command("rpm-ostree")
        .args(args)
        .output()
        .expect("the double rpm-ostree runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The recorded CLI text: its lines up to the `exit=` line, and the exit code.
fn recorded(file: &str) -> (Vec<String>, i32) {
    let text = std::fs::read_to_string(data(file)).unwrap();
    let mut lines = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some(rest) = line.strip_prefix("exit=") {
            let code = rest.split_whitespace().next().unwrap().parse().unwrap();
            return (lines, code);
        }
        lines.push(line.to_owned());
    }
    panic!("no exit line in {file}")
}

/// `KEY: value` lines compared by their keys (right-aligned as rpm-ostree aligns them); the pull
/// summary by its wording; everything else as it is.
fn same_form(got: &str, want: &str) -> bool {
    let summary = |l: &str| {
        l.contains(" metadata, ")
            && l.contains(" content objects fetched; ")
            && l.contains(" transferred in ")
            && l.ends_with(" content written")
    };
    if summary(want) {
        return summary(got);
    }
    match (got.split_once(": "), want.split_once(": ")) {
        (Some((a, _)), Some((b, _))) if b.trim_start().chars().all(|c| c.is_alphabetic()) => a == b,
        _ => got == want,
    }
}

#[test]
fn upgrade_check_prints_the_available_update_as_recorded() {
    let harness = Harness::start(Options {
        fresh: true,
        ..Default::default()
    });
    let out = rpm_ostree(&harness, &["upgrade", "--check"]);
    let (want, code) = recorded("cli-upgrade-check.txt");
    assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    // The recording interleaves stdout and stderr (the Note); ours come apart.
    let note = want.iter().find(|l| l.starts_with("Note: ")).unwrap();
    assert_eq!(stderr(&out).trim_end(), note);
    let want: Vec<&String> = want
        .iter()
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| !l.starts_with("Note: "))
        .collect();
    let got = stdout(&out);
    let got: Vec<&str> = got.lines().collect();
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (g, w) in got.iter().zip(&want) {
        assert!(same_form(g, w), "{g:?} is not like the recorded {w:?}");
    }
    let status = harness.driver().status().unwrap();
    let update = status.cached_update.unwrap();
    assert!(
        got.iter()
            .any(|l| l.ends_with(&format!("Commit: {}", update.checksum)))
    );
}

#[test]
fn upgrade_check_with_nothing_new_exits_77() {
    let mut harness = Harness::start(Options {
        fresh: true,
        ..Default::default()
    });
    assert!(rpm_ostree(&harness, &["upgrade"]).status.success());
    harness.reboot();
    let out = rpm_ostree(&harness, &["upgrade", "--check"]);
    assert_eq!(out.status.code(), Some(77), "{}", stderr(&out));
    assert!(
        stdout(&out).ends_with("No updates available.\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn upgrade_stages_and_says_so_as_recorded() {
    let harness = Harness::start(Options {
        fresh: true,
        ..Default::default()
    });
    let out = rpm_ostree(&harness, &["upgrade"]);
    let (want, code) = recorded("cli-upgrade-to-3.1.txt");
    assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    let text = stdout(&out);
    let got: Vec<&str> = text.lines().collect();
    assert!(same_form(got[0], &want[0]), "{text}");
    assert_eq!(got[1], want[1], "{text}");
    assert_eq!(
        got.last().copied(),
        want.last().map(String::as_str),
        "{text}"
    );
    let status = harness.driver().status().unwrap();
    assert_eq!(status.deployments.len(), 2);
    assert!(
        text.contains("Added:") || text.contains("Upgraded:"),
        "{text}"
    );
}

#[test]
fn a_failed_pull_is_the_recorded_error() {
    let mut harness = Harness::start(Options {
        fresh: true,
        http: true,
        ..Default::default()
    });
    let url = {
        let repo = ostree::Repo::new_for_path(harness.sysroot().join("ostree/repo"));
        repo.open(ostree::gio::Cancellable::NONE).unwrap();
        repo.remote_get_url("keeldemo").unwrap().to_string()
    };
    harness.remote_down();
    let out = rpm_ostree(&harness, &["upgrade"]);
    let (want, code) = recorded("cli-upgrade-failed-http-down.txt");
    assert_eq!(out.status.code(), Some(code));
    let want = want[0]
        .replace("peeros/x86_64/stable", "keeldemo/stable/x86_64")
        .replace("http://127.0.0.1:18765/repo", &url);
    assert_eq!(stderr(&out).trim_end(), want);
}

#[test]
fn layering_rollback_cleanup_and_search() {
    let harness = Harness::start(Options::default());
    let out = rpm_ostree(&harness, &["search", "htop"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "\n===== Name Matched =====\nhtop : Interactive process viewer\n"
    );
    let out = rpm_ostree(&harness, &["search", "shell"]);
    assert_eq!(
        stdout(&out),
        "\n===== Summary Matched =====\nfish : Friendly interactive shell\nzsh : Powerful interactive shell\n"
    );
    let out = rpm_ostree(&harness, &["search", "no-such-thing"]);
    assert_eq!(stdout(&out), "No matches found.\n");

    let out = rpm_ostree(
        &harness,
        &["install", "--idempotent", "--allow-inactive", "htop"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Staging deployment...done\n"), "{text}");
    assert!(
        text.contains("Added:\n  htop-3.3.0-5.fc41.x86_64\n"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "Changes queued for next boot. Run \"systemctl reboot\" to start a reboot\n"
        )
    );
    let status = harness.driver().status().unwrap();
    assert_eq!(status.deployments[0].requested_packages, ["htop"]);
    // Idempotent: asking again changes nothing and succeeds.
    let out = rpm_ostree(&harness, &["install", "--idempotent", "htop"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(harness.driver().status().unwrap().deployments.len(), 3);

    let out = rpm_ostree(&harness, &["uninstall", "--all"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status = harness.driver().status().unwrap();
    assert!(status.deployments[0].requested_packages.is_empty());

    // A staged deployment stops a rollback, as rpm-ostree says; cleanup -p removes it.
    let out = rpm_ostree(&harness, &["rollback"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: Staged deployment (remove with cleanup -p)\n"
    );
    let out = rpm_ostree(&harness, &["cleanup", "-p"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(harness.driver().status().unwrap().deployments.len(), 2);
    let booted_before = harness.driver().status().unwrap().deployments[0].id.clone();
    let out = rpm_ostree(&harness, &["rollback"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("Moving '"), "{text}");
    assert!(
        text.contains("Bootloader updated; bootconfig swap: yes;"),
        "{text}"
    );
    let status = harness.driver().status().unwrap();
    assert_eq!(status.deployments[1].id, booted_before);

    let out = rpm_ostree(&harness, &["status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["deployments"].as_array().unwrap().len(), 2);
    assert_eq!(json["deployments"][1]["booted"], true);
    assert_eq!(json["transaction"], serde_json::Value::Null);
    assert_eq!(json["update-driver"], serde_json::Value::Null);
}

#[test]
fn cancel_stops_a_slow_upgrade() {
    let harness = Harness::start(Options {
        fresh: true,
        hooks: Hooks {
            step_delay: std::time::Duration::from_secs(2),
            ..Default::default()
        },
        ..Default::default()
    });
    let out = rpm_ostree(&harness, &["cancel"]);
    assert_eq!(stdout(&out), "No active transaction.\n");
    let upgrade = harness
        .command("rpm-ostree")
        .arg("upgrade")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let sysroot = harness.connect();
    let proxy = zbus::blocking::Proxy::new(
        &sysroot,
        "org.projectatomic.rpmostree1",
        "/org/projectatomic/rpmostree1/Sysroot",
        "org.projectatomic.rpmostree1.Sysroot",
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while proxy
        .get_property::<String>("ActiveTransactionPath")
        .unwrap()
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no transaction started"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = rpm_ostree(&harness, &["cancel"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "Cancelling transaction: upgrade\nCancelled.\n"
    );
    let out = upgrade.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Operation was cancelled"),
        "{}",
        stderr(&out)
    );
    assert_eq!(harness.driver().status().unwrap().deployments.len(), 1);
}

#[test]
fn a_daemon_crash_is_reported_as_rpm_ostree_does() {
    let harness = Harness::start(Options {
        hooks: Hooks {
            crash_during: Some("packages".to_owned()),
            ..Default::default()
        },
        ..Default::default()
    });
    let out = rpm_ostree(&harness, &["install", "htop"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: Bus owner changed, aborting. This likely means the daemon crashed; check logs with `journalctl -xe`.\n"
    );
    assert!(
        stdout(&out).contains("Writing rpmdb...done\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn pkexec_runs_its_arguments_or_refuses_as_polkit_does() {
    let harness = Harness::start(Options::default());
    let sysroot = format!("--sysroot={}", harness.sysroot().display());
    let out = harness
        .command("pkexec")
        .args(["ostree", "admin", "pin", "1", &sysroot])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(harness.driver().status().unwrap().deployments[1].pinned);

    let out = harness
        .command("pkexec")
        .args(["ostree", "admin", "pin", "--unpin", "1", &sysroot])
        .env("KEEL_TEST_POLKIT", "deny")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        stderr(&out),
        "Error executing command as another user: Not authorized\n\nThis incident has been reported.\n"
    );
    let out = harness
        .command("pkexec")
        .args(["true"])
        .env("KEEL_TEST_POLKIT", "dismiss")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(126));
    assert_eq!(
        stderr(&out),
        "Error executing command as another user: Request dismissed\n"
    );
    assert!(harness.driver().status().unwrap().deployments[1].pinned);
    let out = harness.command("pkexec").arg("false").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "the program's own exit code");
}
