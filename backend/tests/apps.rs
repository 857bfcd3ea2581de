//! The Apps backend on real Flatpak installations, built offline with the real `flatpak` command
//! (see common/flatpak.rs); flatpak's own `flatpak list` is the witness Keel's listing is checked
//! against. The listing, and the changes made with the real flatpak.

mod common;

use std::time::Duration;

use common::flatpak::{
    Apps, NOTES, PLATFORM, SKETCH, WEATHER, assert_rises_to_one, output, recorded,
};
use keel_backend::apps::{self, AppKind, Cancel, Flatpak, Installations};
use keel_backend::demo;

/// Whether `flatpak list` shows `reference` at `version`.
fn flatpak_lists(apps: &Apps, reference: &str, version: &str) -> bool {
    apps.flatpak_list()
        .iter()
        .any(|r| r.0 == reference && r.1 == version)
}

#[test]
fn lists_what_flatpak_lists() {
    let apps = Apps::new();
    let ours = apps.list();
    let theirs = apps.flatpak_list();
    let mut ours_rows: Vec<_> = ours
        .iter()
        .map(|a| {
            let short = &a.commit[..12];
            (
                a.reference.clone(),
                a.version.clone(),
                a.origin.clone(),
                short.to_owned(),
            )
        })
        .collect();
    ours_rows.sort();
    let theirs_rows: Vec<_> = theirs
        .iter()
        .map(|(r, v, o, c, _)| (r.clone(), v.clone(), o.clone(), c.clone()))
        .collect();
    assert_eq!(ours_rows, theirs_rows);
    assert_eq!(ours.len(), 5);

    let notes = apps.find(NOTES);
    let arch = apps.arch();
    assert_eq!(notes.key, format!("user:app/{NOTES}/{arch}/stable"));
    assert_eq!(notes.name, "Notes");
    assert_eq!(notes.summary, "Jot things down");
    assert_eq!(notes.installation, "user");
    assert_eq!(notes.runtime, format!("runtime/{PLATFORM}/{arch}/1"));
    assert!(
        notes.icon.ends_with(&format!("scalable/apps/{NOTES}.svg")),
        "{}",
        notes.icon
    );
    assert!(std::path::Path::new(&notes.icon).is_file());
    assert!(notes.installed_size > 60_000, "{}", notes.installed_size);
    assert!(notes.update_commit.is_empty() && notes.broken.is_empty() && !notes.unused);

    // Sketch is end-of-life, as `flatpak list` says too.
    let sketch = apps.find(SKETCH);
    assert_eq!(sketch.end_of_life, "Sketch is no longer maintained.");
    let flatpak_sketch = theirs.iter().find(|r| r.0.contains(SKETCH)).unwrap();
    assert!(
        flatpak_sketch
            .4
            .contains("eol=Sketch is no longer maintained.")
    );

    // Apps first, then runtimes; the old runtime branch is the unused one.
    let kinds: Vec<AppKind> = ours.iter().map(|a| a.kind).collect();
    assert_eq!(kinds[..3], [AppKind::App; 3]);
    let unused: Vec<&str> = ours
        .iter()
        .filter(|a| a.unused)
        .map(|a| a.reference.as_str())
        .collect();
    assert_eq!(unused, [format!("runtime/{PLATFORM}/{arch}/0")]);
    let platform = ours.iter().find(|a| a.reference.ends_with("/1")).unwrap();
    assert_eq!(platform.name, "Keel Demo Platform");
    assert_eq!(platform.version, "1.2");
    assert!(platform.runtime.is_empty());
}

/// The whole story on a real installation: an update published, found by a check, applied; an
/// uninstall; the unused runtimes removed — each confirmed by flatpak's own listing.
#[test]
fn check_update_uninstall_and_remove_unused() {
    let apps = Apps::new();
    let arch = apps.arch();
    let flatpak = Flatpak::new(apps.installations.clone());
    let notes_ref = format!("app/{NOTES}/{arch}/stable");

    assert_eq!(
        demo::apps::publish(apps.dir.path()).unwrap().as_deref(),
        Some("1.1")
    );
    // Nothing is known before a check: listing never touches the network.
    assert!(apps.find(NOTES).update_commit.is_empty());

    let (recorder, phases) = recorded();
    let said = flatpak.check(&phases, &Cancel::default()).unwrap();
    assert_eq!(said, "1 app update is available.");
    assert_rises_to_one(&recorder);
    assert!(
        recorder
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|u| u.message.starts_with("Downloading Notes")),
        "{:?}",
        recorder.0.lock().unwrap()
    );
    let notes = apps.find(NOTES);
    assert_eq!(notes.update_commit, apps.published_commit(&notes_ref));
    assert_eq!(notes.version, "1.0", "a check deploys nothing");
    assert!(flatpak_lists(&apps, &notes_ref, "1.0"));

    let (recorder, phases) = recorded();
    let said = flatpak
        .update(
            std::slice::from_ref(&notes.key),
            &phases,
            &Cancel::default(),
        )
        .unwrap();
    assert_eq!(said, "Updated 1 app or runtime.");
    assert_rises_to_one(&recorder);
    let notes = apps.find(NOTES);
    assert_eq!(notes.version, "1.1");
    assert!(notes.update_commit.is_empty());
    assert_eq!(notes.commit, apps.published_commit(&notes_ref));
    assert!(flatpak_lists(&apps, &notes_ref, "1.1"));

    let (_, phases) = recorded();
    let said = flatpak
        .uninstall(
            std::slice::from_ref(&notes.key),
            false,
            &phases,
            &Cancel::default(),
        )
        .unwrap();
    assert_eq!(said, "Uninstalled Notes; their data was kept.");
    assert!(!apps.flatpak_list().iter().any(|r| r.0 == notes_ref));
    assert!(!apps.list().iter().any(|a| a.id == NOTES));

    let before = apps.list();
    let unused: Vec<_> = before.iter().filter(|a| a.unused).collect();
    assert_eq!(unused.len(), 1);
    let (recorder, phases) = recorded();
    let said = flatpak.remove_unused(&phases, &Cancel::default()).unwrap();
    assert!(
        said.starts_with("Removed 1 unused runtime, freeing "),
        "{said}"
    );
    assert_rises_to_one(&recorder);
    let theirs = apps.flatpak_list();
    assert!(!theirs.iter().any(|r| r.0 == unused[0].reference));
    // The runtime Weather and Sketch still use stays.
    assert!(
        theirs
            .iter()
            .any(|r| r.0 == format!("runtime/{PLATFORM}/{arch}/1"))
    );
    assert!(apps.list().iter().all(|a| !a.unused));
    assert_eq!(
        flatpak
            .remove_unused(&recorded().1, &Cancel::default())
            .unwrap(),
        "No runtime was unused; nothing was removed."
    );
}

#[test]
fn update_with_no_keys_updates_everything_without_a_check_first() {
    let apps = Apps::new();
    demo::apps::publish(apps.dir.path()).unwrap();
    demo::apps::publish(apps.dir.path()).unwrap();
    let flatpak = Flatpak::new(apps.installations.clone());
    let said = flatpak
        .update(&[], &recorded().1, &Cancel::default())
        .unwrap();
    assert_eq!(said, "Updated 1 app or runtime.");
    assert_eq!(apps.find(NOTES).version, "1.2");
    assert_eq!(
        flatpak
            .update(&[], &recorded().1, &Cancel::default())
            .unwrap(),
        "Everything was already up to date."
    );
}

#[test]
fn damaged_entries_are_listed_as_broken_and_the_rest_still_lists() {
    let apps = Apps::new();
    let arch = apps.arch();
    let user = apps.user_dir();
    let weather = user.join(format!("app/{WEATHER}/{arch}/stable/active"));
    std::fs::write(weather.join("deploy"), b"\x00\x01 not a deploy file").unwrap();
    let sketch = user.join(format!("app/{SKETCH}/{arch}/stable/active"));
    std::fs::remove_file(sketch.join("metadata")).unwrap();

    let list = apps.list();
    assert_eq!(list.len(), 5, "every entry still listed");
    let weather = list.iter().find(|a| a.id == WEATHER).unwrap();
    assert!(
        weather.broken.starts_with("Its deploy file is damaged: "),
        "{}",
        weather.broken
    );
    assert!(weather.commit.is_empty());
    let sketch = list.iter().find(|a| a.id == SKETCH).unwrap();
    assert_eq!(sketch.broken, "Its metadata file is missing.");
    // What the deploy file says is still there.
    assert_eq!(sketch.version, "0.9");
    let notes = list.iter().find(|a| a.id == NOTES).unwrap();
    assert!(notes.broken.is_empty() && notes.version == "1.0");
    // A broken entry is never offered for removal.
    assert!(
        list.iter()
            .filter(|a| a.unused)
            .all(|a| a.broken.is_empty())
    );
}

/// Runs `f` on a thread that has given up root's power to read what it may not (tests run as
/// root, whom file permissions do not stop); the other threads keep it.
fn without_root_reading<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                use rustix::thread::{CapabilitySet, capabilities, set_capabilities};
                let mut caps = capabilities(None).unwrap();
                caps.effective -= CapabilitySet::DAC_OVERRIDE | CapabilitySet::DAC_READ_SEARCH;
                set_capabilities(None, caps).unwrap();
                f()
            })
            .join()
            .unwrap()
    })
}

#[test]
fn folders_that_cannot_be_read_are_reported_and_the_rest_still_lists() {
    use std::os::unix::fs::PermissionsExt;
    let apps = Apps::new();
    let user = apps.user_dir();
    let weather_dir = user.join(format!("app/{WEATHER}"));
    std::fs::set_permissions(&weather_dir, std::fs::Permissions::from_mode(0o000)).unwrap();

    let list = without_root_reading(|| apps.list());
    let weather = list.iter().find(|a| a.id == WEATHER).unwrap();
    assert!(
        weather.broken.contains("cannot be read"),
        "{}",
        weather.broken
    );
    assert!(
        weather.broken.contains("Permission denied"),
        "{}",
        weather.broken
    );
    assert_eq!(weather.reference, format!("app/{WEATHER}"));
    assert!(list.iter().any(|a| a.id == NOTES && a.broken.is_empty()));
    assert!(list.iter().any(|a| a.id == PLATFORM && a.broken.is_empty()));

    // A whole installation that cannot be read is one entry saying so.
    std::fs::set_permissions(&weather_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(user.join("app"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let list = without_root_reading(|| apps.list());
    std::fs::set_permissions(user.join("app"), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].key, "user:");
    assert!(
        list[0].broken.contains("“user” cannot be read"),
        "{}",
        list[0].broken
    );
}

#[test]
fn system_and_configured_installations_are_named_as_flatpak_names_them() {
    let apps = Apps::new();
    let arch = apps.arch();
    let root = tempfile::tempdir().unwrap();
    let (system, user, config, extra) = (
        root.path().join("system"),
        root.path().join("user"),
        root.path().join("config"),
        root.path().join("extra"),
    );
    std::fs::create_dir_all(config.join("installations.d")).unwrap();
    std::fs::write(
        config.join("installations.d/extra.conf"),
        format!(
            "[Installation \"extra\"]\nPath={}\nDisplayName=Extra\n",
            extra.display()
        ),
    )
    .unwrap();
    let installations = Installations::at(Some(&system), &user, Some(&config));
    let names: Vec<String> = installations.list().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["system", "user", "extra"]);

    // Weather and its runtime in the system installation, Notes in "extra", Sketch for the user
    // on the system's runtime.
    let url = format!("file://{}", apps.repo().display());
    let run = |args: &[&str]| {
        output(
            std::process::Command::new("flatpak")
                .args(args)
                .env("FLATPAK_SYSTEM_DIR", &system)
                .env("FLATPAK_USER_DIR", &user)
                .env("FLATPAK_CONFIG_DIR", &config)
                .env("FLATPAK_TRIGGERSDIR", root.path())
                .stdin(std::process::Stdio::null()),
        )
    };
    for scope in ["--system", "--installation=extra", "--user"] {
        run(&["remote-add", scope, "--no-gpg-verify", "demo", &url]);
    }
    run(&[
        "install",
        "--system",
        "-y",
        "--noninteractive",
        "demo",
        &format!("app/{WEATHER}/{arch}/stable"),
    ]);
    // flatpak would take the system's runtime for an app in "extra"; this one brings its own.
    run(&[
        "install",
        "--installation=extra",
        "-y",
        "--noninteractive",
        "--no-auto-pin",
        "demo",
        &format!("runtime/{PLATFORM}/{arch}/1"),
        &format!("app/{NOTES}/{arch}/stable"),
    ]);
    run(&[
        "install",
        "--user",
        "-y",
        "--noninteractive",
        "--no-deps",
        "demo",
        &format!("app/{SKETCH}/{arch}/stable"),
    ]);

    let list = apps::list(&installations).unwrap();
    let where_is = |id: &str| -> Vec<String> {
        list.iter()
            .filter(|a| a.id == id)
            .map(|a| a.installation.clone())
            .collect()
    };
    assert_eq!(where_is(WEATHER), ["system"]);
    assert_eq!(where_is(NOTES), ["extra"]);
    assert_eq!(where_is(SKETCH), ["user"]);
    let mut runtimes = where_is(PLATFORM);
    runtimes.sort();
    assert_eq!(runtimes, ["extra", "system"]);
    assert!(
        list.iter().all(|a| !a.unused),
        "every runtime is used: {list:?}"
    );

    // Uninstalling Weather leaves the system runtime to Sketch, a user app.
    let flatpak = Flatpak::new(installations.clone());
    let weather = list.iter().find(|a| a.id == WEATHER).unwrap().key.clone();
    assert!(weather.starts_with("system:"));
    flatpak
        .uninstall(&[weather], false, &recorded().1, &Cancel::default())
        .unwrap();
    let list = apps::list(&installations).unwrap();
    assert!(list.iter().all(|a| !a.unused), "{list:?}");
    // Without Notes, extra's runtime still serves Sketch, a user app (flatpak resolves a user
    // app's runtime in the other installations too), so nothing is unused; flatpak agrees.
    let notes = list.iter().find(|a| a.id == NOTES).unwrap().key.clone();
    assert!(notes.starts_with("extra:"));
    let stamp = installations.stamp();
    flatpak
        .uninstall(&[notes], false, &recorded().1, &Cancel::default())
        .unwrap();
    assert_ne!(
        installations.stamp(),
        stamp,
        "the change shows in the stamp"
    );
    let unused_keys = || -> Vec<String> {
        let mut keys: Vec<String> = apps::list(&installations)
            .unwrap()
            .into_iter()
            .filter(|a| a.unused)
            .map(|a| a.key)
            .collect();
        keys.sort();
        keys
    };
    assert!(unused_keys().is_empty());
    let said = flatpak
        .remove_unused(&recorded().1, &Cancel::default())
        .unwrap();
    assert_eq!(said, "No runtime was unused; nothing was removed.");
    assert_eq!(apps::list(&installations).unwrap().len(), 3);

    // Without Sketch, both runtimes are unused, and flatpak removes exactly those.
    let sketch = apps::list(&installations)
        .unwrap()
        .into_iter()
        .find(|a| a.id == SKETCH)
        .unwrap();
    flatpak
        .uninstall(&[sketch.key], false, &recorded().1, &Cancel::default())
        .unwrap();
    assert_eq!(
        unused_keys(),
        [
            format!("extra:runtime/{PLATFORM}/{arch}/1"),
            format!("system:runtime/{PLATFORM}/{arch}/1"),
        ]
    );
    let said = flatpak
        .remove_unused(&recorded().1, &Cancel::default())
        .unwrap();
    assert!(
        said.starts_with("Removed 2 unused runtimes, freeing "),
        "{said}"
    );
    assert!(apps::list(&installations).unwrap().is_empty());
}

#[test]
fn a_change_by_another_program_changes_the_stamp() {
    let apps = Apps::new();
    let stamp = apps.installations.stamp();
    assert_eq!(apps.installations.stamp(), stamp);
    std::thread::sleep(Duration::from_millis(20));
    apps.flatpak(&["uninstall", "--user", "-y", "--noninteractive", WEATHER]);
    assert_ne!(apps.installations.stamp(), stamp);
}
