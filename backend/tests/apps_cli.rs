//! `keel-backend apps …` and `keel-backend update-all` on a demo sysroot and a copy of the demo's
//! Flatpak installation, with `flatpak` and the history as witnesses.

mod common;

use common::Demo;
use common::flatpak::{Apps, NOTES, PLATFORM, WEATHER};
use common::served::{flatpak, installation_option, publish, publish_app, witness_refs};

fn cli(demo: &Demo, apps: &Apps, args: &[&str]) -> std::process::Output {
    demo.command(&[])
        .args(installation_option(apps))
        .args(args)
        .output()
        .unwrap()
}

fn cli_ok(demo: &Demo, apps: &Apps, args: &[&str]) -> String {
    common::succeeded(args, cli(demo, apps, args))
}

fn cli_fails(demo: &Demo, apps: &Apps, args: &[&str], code: i32) -> String {
    common::failed(args, cli(demo, apps, args), code)
}

fn cli_list(demo: &Demo, apps: &Apps) -> Vec<keel_backend::apps::App> {
    serde_json::from_str(&cli_ok(demo, apps, &["apps", "list", "--json"])).unwrap()
}

#[test]
fn the_command_line_lists_updates_and_uninstalls() {
    let demo = Demo::new();
    let apps = Apps::new();
    let listed = cli_list(&demo, &apps);
    let mut keel: Vec<String> = listed.iter().map(|a| a.reference.clone()).collect();
    keel.sort();
    assert_eq!(keel, witness_refs(&apps));
    let text = cli_ok(&demo, &apps, &["apps", "list"]);
    assert!(
        text.contains("Notes") && text.contains("Runtimes:"),
        "{text}"
    );

    publish_app(&apps);
    let checked = cli_ok(&demo, &apps, &["apps", "check"]);
    assert!(checked.contains("Notes"), "{checked}");
    // An app id names one entry; a runtime id with two branches does not.
    cli_ok(&demo, &apps, &["apps", "update", NOTES]);
    let notes = cli_list(&demo, &apps)
        .into_iter()
        .find(|a| a.id == NOTES)
        .unwrap();
    assert!(!notes.has_update());
    assert_eq!(
        notes.commit,
        flatpak(&apps, &["info", "--show-commit", NOTES]).trim()
    );
    let err = cli_fails(&demo, &apps, &["apps", "update", PLATFORM], 2);
    assert_eq!(
        err.matches(&format!("user:runtime/{PLATFORM}/")).count(),
        2,
        "{err}"
    );
    let err = cli_fails(&demo, &apps, &["apps", "uninstall", "org.nope"], 3);
    assert!(err.contains("org.nope"), "{err}");
    cli_ok(&demo, &apps, &["apps", "uninstall", WEATHER]);
    cli_ok(&demo, &apps, &["apps", "remove-unused"]);
    let left: Vec<String> = witness_refs(&apps);
    assert!(
        !left
            .iter()
            .any(|r| r.contains(WEATHER) || (r.contains(PLATFORM) && r.ends_with("/0"))),
        "{left:?}"
    );
    let history = demo.ok(&["history"]);
    for op in ["apps-update", "apps-uninstall", "apps-remove-unused"] {
        assert!(history.contains(op), "{op} missing from:\n{history}");
    }
}

#[test]
fn the_command_line_updates_all() {
    let demo = Demo::new();
    let apps = Apps::new();
    publish(&demo);
    publish_app(&apps);
    let out = cli_ok(&demo, &apps, &["update-all"]);
    assert!(out.contains("boots after a restart"), "{out}");
    assert!(
        !cli_list(&demo, &apps)
            .into_iter()
            .find(|a| a.id == NOTES)
            .unwrap()
            .has_update()
    );
    let history = demo.ok(&["history"]);
    assert!(
        history.lines().last().unwrap().contains("update-all"),
        "{history}"
    );
    // A sysroot with no installation named has no apps, and says so when asked to change them.
    let err = demo.fails(&["apps", "check"], 3);
    assert!(err.contains("no Flatpak installation"), "{err}");
    assert_eq!(demo.ok(&["apps", "list", "--json"]).trim(), "[]");
}
