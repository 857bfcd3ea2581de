//! `build-aux/install` puts every file where it belongs under a prefix, and the installed Keel finds
//! its translations and schema there with no environment variables pointing at them.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{repo, repo_path, run_tool};

/// The folder holding the binaries this test was built with (`target/debug`), which the install
/// script copies instead of making a release build of its own.
fn built_binaries() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/install-HASH
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// A prefix to install into, on disk beside the binaries (the build root's /tmp is memory, and each
/// install copies both debug binaries).
fn temporary_prefix() -> tempfile::TempDir {
    tempfile::tempdir_in(built_binaries().parent().unwrap()).unwrap()
}

fn install(prefix: &Path, extra: &[&str]) {
    let status = Command::new(repo().join("build-aux/install"))
        .arg("--prefix")
        .arg(prefix)
        .arg("--binaries")
        .arg(built_binaries())
        .args(extra)
        .current_dir(repo())
        .status()
        .expect("build-aux/install runs");
    assert!(status.success(), "build-aux/install failed ({status})");
}

/// Every file (not folder) under `root`, relative to it.
fn files_under(root: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let relative = path.strip_prefix(root).unwrap();
                found.insert(relative.to_string_lossy().into_owned());
            }
        }
    }
    found
}

fn expected_files(app_id: &str) -> BTreeSet<String> {
    [
        "bin/keel".to_owned(),
        "bin/keel-backend".to_owned(),
        format!("share/applications/{app_id}.desktop"),
        format!("share/metainfo/{app_id}.metainfo.xml"),
        format!("share/icons/hicolor/scalable/apps/{app_id}.svg"),
        format!("share/icons/hicolor/symbolic/apps/{app_id}-symbolic.svg"),
        "share/glib-2.0/schemas/io.github.keelapp.Keel.gschema.xml".to_owned(),
        "share/glib-2.0/schemas/gschemas.compiled".to_owned(),
        "share/dbus-1/services/io.github.keelapp.Keel.Backend.service".to_owned(),
        "share/locale/de/LC_MESSAGES/keel.mo".to_owned(),
        format!("share/licenses/{app_id}/COPYING"),
    ]
    .into_iter()
    .collect()
}

/// What the installed backend says about a folder that is not a sysroot, in `language`, with
/// nothing in its environment saying where translations are.
fn backend_says(prefix: &Path, language: &str) -> String {
    let output = Command::new(prefix.join("bin/keel-backend"))
        .args(["--sysroot", "/nonexistent", "status"])
        .env_remove("KEEL_LOCALEDIR")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANGUAGE", language)
        .env("LANG", "de_DE.UTF-8")
        .output()
        .unwrap();
    assert!(!output.status.success(), "/nonexistent is not a sysroot");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn every_file_lands_under_the_prefix_valid_and_nothing_else() {
    let prefix = temporary_prefix();
    install(prefix.path(), &[]);
    assert_eq!(
        files_under(prefix.path()),
        expected_files("io.github.keelapp.Keel")
    );

    let share = prefix.path().join("share");
    let service = std::fs::read_to_string(
        share.join("dbus-1/services/io.github.keelapp.Keel.Backend.service"),
    )
    .unwrap();
    let exec = format!(
        "Exec={}/bin/keel-backend --system serve",
        prefix.path().display()
    );
    assert!(
        service.lines().any(|line| line == exec),
        "the service file starts the installed backend:\n{service}"
    );
    let desktop =
        std::fs::read_to_string(share.join("applications/io.github.keelapp.Keel.desktop")).unwrap();
    assert!(
        desktop.contains("\nComment[de]="),
        "translations merged:\n{desktop}"
    );
    run_tool(
        "desktop-file-validate",
        &[path_str(
            &share.join("applications/io.github.keelapp.Keel.desktop"),
        )],
    );
    let metainfo = share.join("metainfo/io.github.keelapp.Keel.metainfo.xml");
    assert!(
        std::fs::read_to_string(&metainfo)
            .unwrap()
            .contains("xml:lang=\"de\"")
    );
    run_tool(
        "appstreamcli",
        &["validate", "--strict", "--no-net", path_str(&metainfo)],
    );

    let schemas = share.join("glib-2.0/schemas");
    let keys = run_tool(
        "gsettings",
        &[
            "--schemadir",
            path_str(&schemas),
            "list-keys",
            "io.github.keelapp.Keel",
        ],
    );
    assert!(
        keys.lines().any(|key| key == "window-width"),
        "the schema is compiled: {keys}"
    );
}

#[test]
fn the_installed_backend_speaks_german_from_the_prefix_catalog() {
    let prefix = temporary_prefix();
    install(prefix.path(), &[]);
    let german = backend_says(prefix.path(), "de");
    assert!(
        german.contains("ist kein OSTree-Sysroot"),
        "German from PREFIX/share/locale: {german}"
    );
    // Proof that it was this prefix's catalog and no other: without it the sentence is English.
    std::fs::remove_file(prefix.path().join("share/locale/de/LC_MESSAGES/keel.mo")).unwrap();
    let english = backend_says(prefix.path(), "de");
    assert!(english.contains("is not an OSTree sysroot"), "{english}");
}

#[test]
fn the_devel_profile_installs_under_its_own_app_id() {
    let prefix = temporary_prefix();
    install(prefix.path(), &["--devel"]);
    let app_id = "io.github.keelapp.Keel.Devel";
    assert_eq!(files_under(prefix.path()), expected_files(app_id));
    let share = prefix.path().join("share");
    let desktop =
        std::fs::read_to_string(share.join(format!("applications/{app_id}.desktop"))).unwrap();
    assert!(
        desktop.lines().any(|line| line == format!("Icon={app_id}")),
        "{desktop}"
    );
    let metainfo = share.join(format!("metainfo/{app_id}.metainfo.xml"));
    let text = std::fs::read_to_string(&metainfo).unwrap();
    assert!(text.contains(&format!("<id>{app_id}</id>")), "{text}");
    assert!(
        text.contains(&format!(">{app_id}.desktop</launchable>")),
        "{text}"
    );
    run_tool(
        "appstreamcli",
        &["validate", "--strict", "--no-net", path_str(&metainfo)],
    );
    let icon = share.join(format!("icons/hicolor/scalable/apps/{app_id}.svg"));
    let release_icon = repo_path("data/icons/hicolor/scalable/apps/io.github.keelapp.Keel.svg");
    assert_ne!(
        std::fs::read(icon).unwrap(),
        std::fs::read(release_icon).unwrap(),
        "the development build has an icon of its own"
    );
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}
