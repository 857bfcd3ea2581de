//! The Apps backend's use of the `flatpak` command where things go wrong or run elsewhere: no
//! flatpak, a remote out of reach, unknown keys, polkit refusing, Cancel, the route through
//! flatpak-spawn, the options passed. Test doubles stand in only for what cannot run here (polkit,
//! a command that hangs, flatpak-spawn's host), each named so; the rest is the real flatpak.

mod common;

use std::time::{Duration, Instant};

use common::flatpak::{Apps, NOTES, WEATHER, recorded, scripts};
use keel_backend::Error;
use keel_backend::apps::{self, Cancel, Flatpak};
use keel_backend::demo;

#[test]
fn a_check_that_cannot_reach_the_remote_says_so() {
    let apps = Apps::new();
    demo::apps::publish(apps.dir.path()).unwrap();
    std::fs::rename(apps.repo(), apps.dir.path().join("gone")).unwrap();
    let flatpak = Flatpak::new(apps.installations.clone());
    let said = flatpak.check(&recorded().1, &Cancel::default()).unwrap();
    assert!(
        said.starts_with(
            "All apps are up to date. Some remotes could not be asked, so there may be more: "
        ),
        "{said}"
    );
    assert!(apps.list().iter().all(|a| a.update_commit.is_empty()));
}

#[test]
fn unknown_keys_change_nothing() {
    let apps = Apps::new();
    let flatpak = Flatpak::new(apps.installations.clone());
    let before = apps.flatpak_list();
    let keys = [
        apps.find(WEATHER).key,
        "user:app/org.example.Nope/x86_64/stable".to_owned(),
    ];
    let err = flatpak
        .uninstall(&keys, false, &recorded().1, &Cancel::default())
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert!(err.message().contains("org.example.Nope"));
    assert_eq!(apps.flatpak_list(), before);
    let err = flatpak
        .uninstall(&[], false, &recorded().1, &Cancel::default())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)));
}

#[test]
fn without_flatpak_changes_fail_with_a_sentence_and_listing_still_works() {
    let apps = Apps::new();
    let empty = tempfile::tempdir().unwrap();
    let flatpak = Flatpak::new(apps.installations.clone())
        .search_path(empty.path())
        .through_host(false);
    let err = flatpak
        .check(&recorded().1, &Cancel::default())
        .unwrap_err();
    assert!(matches!(err, Error::Failed(_)));
    assert!(
        err.message()
            .starts_with("Flatpak is not installed on this computer"),
        "{}",
        err.message()
    );
    let key = apps.find(NOTES).key;
    let err = flatpak
        .update(&[key], &recorded().1, &Cancel::default())
        .unwrap_err();
    assert_eq!(err.message(), apps::flatpak_missing().message());
    assert_eq!(apps.list().len(), 5);
}

/// polkit cannot run here; this double answers as flatpak does when polkit refuses the system
/// helper (flatpak-system-helper.c: "Flatpak system operation %s not allowed for user").
const POLKIT_REFUSAL_DOUBLE: &str = "echo 'Looking for updates…'
echo 'error: Flatpak system operation Deploy not allowed for user' >&2
exit 1";

#[test]
fn a_refused_authorisation_is_permission_denied_and_changes_nothing() {
    let apps = Apps::new();
    let bin = scripts(&[("flatpak", POLKIT_REFUSAL_DOUBLE)]);
    let flatpak = Flatpak::new(apps.installations.clone())
        .search_path(bin.path())
        .through_host(false);
    let before = apps.flatpak_list();
    let err = flatpak
        .update(&[], &recorded().1, &Cancel::default())
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");
    assert!(
        err.message()
            .contains("was not allowed; nothing was changed"),
        "{}",
        err.message()
    );
    assert_eq!(apps.flatpak_list(), before);
}

/// A flatpak double that starts an update and then hangs, as one waiting on a slow server does.
const HANGING_DOUBLE: &str =
    "echo ' 1.\t \tio.github.keelapp.demo.Notes\tstable\tu\tkeel-demo\t< 1 MB'
echo 'Updating 1/1…'
exec sleep 60";

#[test]
fn cancel_stops_the_running_command() {
    let apps = Apps::new();
    let bin = scripts(&[("flatpak", HANGING_DOUBLE)]);
    let flatpak = Flatpak::new(apps.installations.clone())
        .search_path(bin.path())
        .through_host(false);
    let cancel = Cancel::default();
    let (recorder, phases) = recorded();
    let started = Instant::now();
    std::thread::scope(|scope| {
        let run = scope.spawn(|| flatpak.update(&[], &phases, &cancel));
        // Cancel once the step is seen, so the command is surely running.
        while !recorder
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|u| u.message.contains("Notes"))
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no progress seen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        cancel.cancel();
        let err = run.join().unwrap().unwrap_err();
        assert!(matches!(err, Error::Cancelled(_)), "{err:?}");
    });
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the command was not stopped"
    );
    let messages: Vec<String> = recorder
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|u| u.message.clone())
        .collect();
    assert!(
        messages.contains(&"Updating Notes (1 of 1)".to_owned()),
        "{messages:?}"
    );
}

/// flatpak-spawn cannot reach a host from here; this double does what it does — runs the command
/// after `--host` with the `--env=` variables set — on this machine, with the real flatpak.
const FLATPAK_SPAWN_DOUBLE: &str = r#"[ "$1" = --host ] || { echo "expected --host first" >&2; exit 2; }
shift
while [ $# -gt 0 ]; do
  case "$1" in
    --env=*) export "${1#--env=}"; shift ;;
    --*) echo "unexpected option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
exec "$@""#;

#[test]
fn inside_a_sandbox_flatpak_runs_through_flatpak_spawn() {
    let apps = Apps::new();
    demo::apps::publish(apps.dir.path()).unwrap();
    let bin = scripts(&[("flatpak-spawn", FLATPAK_SPAWN_DOUBLE)]);
    let path = std::env::join_paths([bin.path().to_owned(), "/usr/bin".into()]).unwrap();
    let flatpak = Flatpak::new(apps.installations.clone())
        .search_path(path)
        .through_host(true);
    let said = flatpak.check(&recorded().1, &Cancel::default()).unwrap();
    assert_eq!(said, "1 app update is available.");
    assert!(!apps.find(NOTES).update_commit.is_empty());
}

/// Records its arguments and does what flatpak would (through the real one), so the options Keel
/// passes are seen. Deleting data needs a session bus (flatpak resets the app's permissions), which
/// this machine does not run, so that option is checked here rather than carried out.
const RECORDING_DOUBLE: &str = r#"printf '%s\n' "$*" >> "$KEEL_TEST_RECORD"
for arg in "$@"; do [ "$arg" = --delete-data ] && exit 0; done
exec flatpak "$@""#;

#[test]
fn data_is_deleted_only_when_asked() {
    let apps = Apps::new();
    let record = apps.dir.path().join("record");
    let body = RECORDING_DOUBLE.replace("$KEEL_TEST_RECORD", &record.display().to_string());
    let bin = scripts(&[(
        "flatpak",
        &body.replace("exec flatpak", "exec /usr/bin/flatpak"),
    )]);
    let flatpak = Flatpak::new(apps.installations.clone())
        .search_path(bin.path())
        .through_host(false);
    let keys = [apps.find(WEATHER).key];
    flatpak
        .uninstall(&keys, false, &recorded().1, &Cancel::default())
        .unwrap();
    assert!(!apps.list().iter().any(|a| a.id == WEATHER));
    let keys = [apps.find(NOTES).key];
    flatpak
        .uninstall(&keys, true, &recorded().1, &Cancel::default())
        .unwrap();
    let lines: Vec<String> = std::fs::read_to_string(&record)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("uninstall -y --user -- app/io.github.keelapp.demo.Weather/"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1]
            .starts_with("uninstall -y --delete-data --user -- app/io.github.keelapp.demo.Notes/"),
        "{}",
        lines[1]
    );
}
