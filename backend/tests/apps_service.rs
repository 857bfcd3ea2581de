//! The Apps interface (`io.github.keelapp.Keel.Apps1`) and Update All on a private dbus-daemon,
//! with the real `flatpak` command on a copy of the demo's Flatpak installation (built offline,
//! `common::flatpak`) beside a demo sysroot, and `flatpak` itself as the independent witness.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use common::bus::*;
use common::flatpak::{NOTES, PLATFORM, WEATHER};
use common::served::*;
use zbus::zvariant::{OwnedObjectPath, Value};

#[test]
fn list_shows_what_flatpak_has_installed() {
    let served = Served::start();
    let proxy = served.apps_proxy();
    let listed = list(&proxy);
    assert_eq!(
        refs(&listed),
        witness_refs(&served.apps),
        "Keel and `flatpak list` disagree"
    );
    let notes = entry(&listed, NOTES).expect("Notes is listed");
    assert_eq!(string(notes, "kind"), "app");
    assert_eq!(string(notes, "installation"), "user");
    assert_eq!(
        string(notes, "key"),
        format!("user:{}", string(notes, "ref"))
    );
    assert!(get::<u64>(notes, "installed-size") > 0);
    assert!(string(notes, "runtime").starts_with(&format!("runtime/{PLATFORM}/")));
    // The older runtime branch is what no app uses.
    let unused: Vec<String> = listed
        .iter()
        .filter(|a| get::<bool>(a, "unused"))
        .map(|a| string(a, "ref"))
        .collect();
    assert!(
        unused.len() == 1
            && unused[0].starts_with(&format!("runtime/{PLATFORM}/"))
            && unused[0].ends_with("/0"),
        "{unused:?}"
    );
}

#[test]
fn check_finds_a_published_update_and_update_installs_it() {
    let served = Served::start();
    let proxy = served.apps_proxy();
    let backend = served.backend();
    let announced = Announcements::subscribe(&served.conn);
    let before = list(&proxy);
    let notes = entry(&before, NOTES).unwrap().clone();
    assert_eq!(string(&notes, "update-commit"), "", "nothing published yet");
    publish_app(&served.apps);

    let (success, name, message) = run(&served.service, &proxy, "CheckApps", &());
    assert!(success, "{name}: {message}");
    announced.expect("a check");
    let checked = list(&proxy);
    let waiting = string(entry(&checked, NOTES).unwrap(), "update-commit");
    assert_eq!(waiting.len(), 64, "Notes' update is known after the check");
    assert_ne!(waiting, string(&notes, "commit"));
    let weather_before = entry(&checked, WEATHER).unwrap().clone();

    announced.drain();
    let key = string(&notes, "key");
    let (success, name, message) = run(&served.service, &proxy, "UpdateApps", &(vec![key],));
    assert!(success, "{name}: {message}");
    announced.expect("an update");
    let after = list(&proxy);
    let updated = entry(&after, NOTES).unwrap();
    assert_eq!(string(updated, "commit"), waiting, "the update is deployed");
    assert_eq!(string(updated, "update-commit"), "");
    assert_ne!(string(updated, "version"), string(&notes, "version"));
    assert_eq!(
        entry(&after, WEATHER).unwrap(),
        &weather_before,
        "only what was named changes"
    );
    // flatpak agrees, and the history tells it.
    let info = flatpak(&served.apps, &["info", "--show-commit", NOTES]);
    assert_eq!(info.trim(), waiting);
    assert_recorded(&backend, "apps-update", true, &message);
}

#[test]
fn update_without_keys_updates_everything_waiting() {
    let served = Served::start();
    let proxy = served.apps_proxy();
    publish_app(&served.apps);
    let (success, name, message) = run(&served.service, &proxy, "CheckApps", &());
    assert!(success, "{name}: {message}");
    let waiting: Vec<String> = list(&proxy)
        .iter()
        .filter(|a| !string(a, "update-commit").is_empty())
        .map(|a| string(a, "id"))
        .collect();
    assert!(
        waiting.iter().any(|id| id == NOTES),
        "Notes waits: {waiting:?}"
    );
    let empty: Vec<String> = Vec::new();
    let (success, name, message) = run(&served.service, &proxy, "UpdateApps", &(empty,));
    assert!(success, "{name}: {message}");
    let still: Vec<String> = list(&proxy)
        .iter()
        .filter(|a| !string(a, "update-commit").is_empty())
        .map(|a| string(a, "ref"))
        .collect();
    assert!(still.is_empty(), "still waiting: {still:?}");
    let updates = flatpak(&served.apps, &["remote-ls", "--updates", "--columns=ref"]);
    assert_eq!(updates.trim(), "", "flatpak knows no update either");
}

#[test]
fn uninstall_keeps_data_unless_asked() {
    let served = Served::start();
    let proxy = served.apps_proxy();
    let data = |id: &str| served.home.path().join(".var/app").join(id);
    for id in [NOTES, WEATHER] {
        std::fs::create_dir_all(data(id).join("data")).unwrap();
        std::fs::write(data(id).join("data/notes.txt"), "keep me").unwrap();
    }
    let listed = list(&proxy);
    let (success, name, message) = run(
        &served.service,
        &proxy,
        "UninstallApps",
        &(vec![key_of(&listed, WEATHER)], no_options()),
    );
    assert!(success, "{name}: {message}");
    assert!(entry(&list(&proxy), WEATHER).is_none());
    assert!(
        !witness_refs(&served.apps)
            .iter()
            .any(|r| r.contains(WEATHER))
    );
    assert!(data(WEATHER).join("data/notes.txt").is_file(), "data kept");

    let delete: HashMap<String, Value> = [("delete-data".to_owned(), Value::from(true))].into();
    let (success, name, message) = run(
        &served.service,
        &proxy,
        "UninstallApps",
        &(vec![key_of(&listed, NOTES)], delete),
    );
    assert!(success, "{name}: {message}");
    assert!(entry(&list(&proxy), NOTES).is_none());
    assert!(!data(NOTES).exists(), "data deleted when asked");
}

#[test]
fn requests_that_cannot_succeed_start_nothing() {
    let served = Served::start();
    let proxy = served.apps_proxy();
    let refused = |method: &str, result: zbus::Result<OwnedObjectPath>| {
        let Err(zbus::Error::MethodError(name, Some(message), _)) = result else {
            panic!("{method} should be refused: {result:?}")
        };
        (name.to_string(), message)
    };
    let key = format!("user:app/{NOTES}/x86_64/nope");
    let (name, message) = refused(
        "UpdateApps",
        proxy.call("UpdateApps", &(vec![key.clone()],)),
    );
    assert!(
        name.ends_with(".NotFound") && message.contains(&key),
        "{name}: {message}"
    );
    let none: Vec<String> = Vec::new();
    let (name, _) = refused(
        "UninstallApps",
        proxy.call("UninstallApps", &(none, no_options())),
    );
    assert!(name.ends_with(".InvalidArgument"), "{name}");
    let odd: HashMap<String, Value> = [("delete-everything".to_owned(), Value::from(true))].into();
    let notes = key_of(&list(&proxy), NOTES);
    let (name, _) = refused(
        "UninstallApps",
        proxy.call("UninstallApps", &(vec![notes], odd)),
    );
    assert!(name.ends_with(".InvalidArgument"), "{name}");
    assert_eq!(served.active(), "/");
    assert!(entry(&list(&proxy), NOTES).is_some());
}

#[test]
fn keys_that_name_nothing_change_nothing() {
    let served = Served::start();
    let proxy = served.apps_proxy();
    let notes = key_of(&list(&proxy), NOTES);
    let before = served.apps.flatpak_list();
    let junk = [
        String::new(),
        "user:".into(),
        format!("system:{}", notes.trim_start_matches("user:")),
        format!("{notes} "),
        notes.trim_start_matches("user:").to_owned(),
        "user:app/../../../etc/passwd".into(),
        "user:app/io.github.keelapp.demo.Notes;rm -rf ~/x86_64/stable".into(),
        "--delete-data".into(),
        "🙂".into(),
        "x".repeat(5000),
    ];
    for key in &junk {
        for method in ["UpdateApps", "UninstallApps"] {
            let keys = vec![key.clone(), notes.clone()];
            let result: zbus::Result<OwnedObjectPath> = if method == "UpdateApps" {
                proxy.call(method, &(keys,))
            } else {
                proxy.call(method, &(keys, no_options()))
            };
            let Err(zbus::Error::MethodError(name, _, _)) = &result else {
                panic!("{method}({key:?}) was not refused: {result:?}")
            };
            assert!(
                name.as_str().ends_with(".NotFound"),
                "{method}({key:?}): {name}"
            );
        }
    }
    assert_eq!(served.active(), "/");
    assert_eq!(served.apps.flatpak_list(), before);
}

#[test]
fn remove_unused_removes_only_unused_runtimes() {
    let served = Served::start();
    let proxy = served.apps_proxy();
    let before = list(&proxy);
    let unused: Vec<String> = before
        .iter()
        .filter(|a| get::<bool>(a, "unused"))
        .map(|a| string(a, "ref"))
        .collect();
    assert!(!unused.is_empty());
    let (success, name, message) = run(&served.service, &proxy, "RemoveUnusedApps", &());
    assert!(success, "{name}: {message}");
    let after: Vec<String> = list(&proxy).iter().map(|a| string(a, "ref")).collect();
    let expected: Vec<String> = before
        .iter()
        .map(|a| string(a, "ref"))
        .filter(|r| !unused.contains(r))
        .collect();
    assert_eq!(after, expected);
    assert_recorded(&served.backend(), "apps-remove-unused", true, &message);
}

#[test]
fn changes_made_with_flatpak_are_announced() {
    let served = Served::start();
    let proxy = served.apps_proxy();
    let weather = string(entry(&list(&proxy), WEATHER).unwrap(), "ref");
    let announced = Announcements::subscribe(&served.conn);
    flatpak(
        &served.apps,
        &["uninstall", "-y", "--noninteractive", &weather],
    );
    announced.expect("`flatpak uninstall` in a terminal");
    assert!(entry(&list(&proxy), WEATHER).is_none());
    announced.drain();
    flatpak(
        &served.apps,
        &["install", "-y", "--noninteractive", "keel-demo", &weather],
    );
    announced.expect("`flatpak install` in a terminal");
    assert!(entry(&list(&proxy), WEATHER).is_some());
    // A download without a deploy moves only the remote refs: an update that now waits.
    publish_app(&served.apps);
    announced.drain();
    flatpak(
        &served.apps,
        &["update", "--no-deploy", "-y", "--noninteractive", NOTES],
    );
    announced.expect("`flatpak update --no-deploy` in a terminal");
    assert_ne!(
        string(entry(&list(&proxy), NOTES).unwrap(), "update-commit"),
        ""
    );
}

/// A `flatpak` that waits before it runs the real one, so an apps transaction lasts.
fn slow_flatpak(dir: &Path) -> std::ffi::OsString {
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v flatpak"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let script = dir.join("flatpak");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nsleep 3\nexec {} \"$@\"\n", real.trim()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![dir.to_owned()];
    dirs.extend(std::env::split_paths(&path));
    std::env::join_paths(dirs).unwrap()
}

#[test]
fn one_transaction_at_a_time_across_the_system_and_the_apps() {
    let wrapper = tempfile::tempdir().unwrap();
    let env = vec![("PATH".to_owned(), slow_flatpak(wrapper.path()))];
    let served = Served::start_with(env);
    let proxy = served.apps_proxy();
    let backend = served.backend();
    let check: OwnedObjectPath = proxy.call("CheckApps", &()).unwrap();
    // The same request joins; a change to the system waits its turn.
    let again: OwnedObjectPath = proxy.call("CheckApps", &()).unwrap();
    assert_eq!(again, check);
    let rollback = string(&deployments(&status(&backend))[1], "id");
    let err = backend
        .call::<_, _, OwnedObjectPath>("Pin", &(rollback.as_str(),))
        .unwrap_err();
    let zbus::Error::MethodError(name, Some(message), _) = err else {
        panic!("{err:?}")
    };
    assert!(name.as_str().ends_with(".Busy"), "{name}");
    assert!(message.contains("check for app updates"), "{message}");
    // Reads answer meanwhile.
    status(&backend);
    assert!(entry(&list(&proxy), NOTES).is_some());
    let (success, name, message) = wait_finished(&served.service.transaction(&served.conn, &check));
    assert!(success, "{name}: {message}");

    // And the other way round: an update of the system holds off the apps.
    let update: OwnedObjectPath = backend.call("UpdateAll", &()).unwrap();
    let err = proxy
        .call::<_, _, OwnedObjectPath>("RemoveUnusedApps", &())
        .unwrap_err();
    let zbus::Error::MethodError(name, Some(message), _) = err else {
        panic!("{err:?}")
    };
    assert!(name.as_str().ends_with(".Busy"), "{name}");
    assert!(message.contains("system and its apps"), "{message}");
    wait_finished(&served.service.transaction(&served.conn, &update));
}

#[test]
fn a_cancelled_update_of_apps_changes_nothing() {
    let wrapper = tempfile::tempdir().unwrap();
    let env = vec![("PATH".to_owned(), slow_flatpak(wrapper.path()))];
    let served = Served::start_with(env);
    let proxy = served.apps_proxy();
    publish_app(&served.apps);
    let before = served.apps.flatpak_list();
    let notes = key_of(&list(&proxy), NOTES);
    let path: OwnedObjectPath = proxy.call("UpdateApps", &(vec![notes],)).unwrap();
    let tx = served.service.transaction(&served.conn, &path);
    let _: () = tx.call("Cancel", &()).unwrap();
    let (success, name, message) = wait_finished(&tx);
    assert!(
        !success && name.ends_with(".Cancelled"),
        "{name}: {message}"
    );
    assert_eq!(served.apps.flatpak_list(), before, "nothing changed");
    assert_eq!(served.active(), "/", "the service is free again");
}

#[test]
fn without_flatpak_the_apps_say_so_and_the_system_still_works() {
    let empty = tempfile::tempdir().unwrap();
    let env = vec![("PATH".to_owned(), empty.path().as_os_str().to_owned())];
    let served = Served::start_with(env);
    let proxy = served.apps_proxy();
    let backend = served.backend();
    let (success, name, message) = run(&served.service, &proxy, "CheckApps", &());
    assert!(!success);
    assert!(name.ends_with(".Failed"), "{name}");
    assert!(message.contains("Flatpak is not installed"), "{message}");
    // Listing reads the disk, and the system's side is untouched.
    assert!(entry(&list(&proxy), NOTES).is_some());
    let (success, name, message) = run(&served.service, &backend, "Check", &());
    assert!(success, "{name}: {message}");
}

#[test]
fn update_all_updates_the_apps_when_the_system_cannot_be() {
    let served = Served::start();
    let proxy = served.apps_proxy();
    let backend = served.backend();
    publish(served.demo());
    publish_app(&served.apps);
    served.demo().set_remote_url("http://127.0.0.1:9");
    let before = served.demo().fingerprint();
    let signals = transaction_signals(&served.conn);
    let (success, name, message) = run(&served.service, &backend, "UpdateAll", &());
    assert!(!success, "the system part failed: {message}");
    assert!(name.ends_with(".Failed"), "{name}");
    assert!(message.contains("The system was not updated"), "{message}");
    assert_eq!(
        served.demo().fingerprint(),
        before,
        "the system is unchanged"
    );
    let listed = list(&proxy);
    let notes = entry(&listed, NOTES).unwrap();
    assert_eq!(string(notes, "update-commit"), "", "Notes was updated");
    assert_eq!(
        string(notes, "commit"),
        flatpak(&served.apps, &["info", "--show-commit", NOTES]).trim()
    );
    let fractions: Vec<f64> = signals
        .take_while(|m| {
            m.as_ref()
                .is_ok_and(|m| m.header().member().is_some_and(|n| n != "Finished"))
        })
        .filter_map(|m| {
            m.ok()?
                .body()
                .deserialize::<(f64, String, String, u64, u64)>()
                .ok()
        })
        .map(|p| p.0)
        .collect();
    assert!(fractions.windows(2).all(|w| w[0] <= w[1]), "{fractions:?}");
    assert!(
        fractions.iter().any(|&f| f > 0.6),
        "the apps' part: {fractions:?}"
    );
    assert_recorded(&backend, "update-all", false, &message);
}

#[test]
fn update_all_updates_the_system_then_the_apps() {
    let served = Served::start();
    let proxy = served.apps_proxy();
    let backend = served.backend();
    publish(served.demo());
    publish_app(&served.apps);
    let announced = Announcements::subscribe(&served.conn);
    let (success, name, message) = run(&served.service, &backend, "UpdateAll", &());
    assert!(success, "{name}: {message}");
    announced.expect("Update All");
    let status = status(&backend);
    assert!(
        status.contains_key("pending-update"),
        "the system's update waits for a restart"
    );
    served.demo().assert_agrees_with_ostree();
    assert!(
        list(&proxy)
            .iter()
            .all(|a| string(a, "update-commit").is_empty()),
        "every app is up to date"
    );
}
