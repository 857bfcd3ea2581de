//! The Apps interface (`io.github.keelapp.Keel.Apps1`) and Update All on a private dbus-daemon,
//! with the real `flatpak` command on the demo's own Flatpak installation (built offline by
//! `demo init`), and `flatpak` itself as the independent witness.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use common::Demo;
use common::bus::*;
use zbus::blocking::{Connection, MessageIterator, Proxy};
use zbus::zvariant::{OwnedObjectPath, Value};

const NOTES: &str = "io.github.keelapp.demo.Notes";
const WEATHER: &str = "io.github.keelapp.demo.Weather";
const PAINT: &str = "io.github.keelapp.demo.Paint";
const PLATFORM: &str = "io.github.keelapp.demo.Platform";

/// The variables that make `flatpak` see the demo's installation (and nothing of the computer's).
fn flatpak_env(demo: &Demo) -> Vec<(&'static str, PathBuf)> {
    let root = demo.root().join("flatpak");
    vec![
        ("FLATPAK_USER_DIR", root.join("user")),
        ("FLATPAK_SYSTEM_DIR", root.join("system")),
        ("FLATPAK_CONFIG_DIR", root.join("config")),
        ("FLATPAK_TRIGGERSDIR", root.join("triggers")),
    ]
}

/// Runs `flatpak COMMAND --user ARGS` on the demo's installation, as a person in a terminal
/// would.
fn flatpak(demo: &Demo, args: &[&str]) -> String {
    let out = Command::new("flatpak")
        .envs(flatpak_env(demo))
        .env("LC_ALL", "C")
        .arg(args[0])
        .arg("--user")
        .args(&args[1..])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "flatpak {args:?}: {}",
        common::text(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The refs flatpak itself lists (`ID/ARCH/BRANCH`, without the kind), sorted; `only` adds an
/// option such as `--app`.
fn flatpak_refs(demo: &Demo, only: &[&str]) -> Vec<String> {
    let mut args = vec!["list", "--columns=ref"];
    args.extend(only);
    let mut refs: Vec<String> = flatpak(demo, &args)
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    refs.sort();
    refs
}

/// Keel's refs of one kind (or of both, with None) in flatpak's spelling.
fn keel_refs(list: &[Dict], kind: Option<&str>) -> Vec<String> {
    let mut refs: Vec<String> = list
        .iter()
        .filter(|a| kind.is_none_or(|k| string(a, "kind") == k))
        .map(|a| string(a, "ref").split_once('/').unwrap().1.to_owned())
        .collect();
    refs.sort();
    refs
}

/// The service on the demo's sysroot and its Flatpak installation; `home` holds ~/.var/app.
struct Apps {
    service: Service,
    home: tempfile::TempDir,
}

impl Apps {
    fn start() -> Self {
        Self::start_with(Demo::new(), Vec::new())
    }

    fn start_with(demo: Demo, env: Vec<(String, std::ffi::OsString)>) -> Self {
        let home = tempfile::tempdir().unwrap();
        let mut env = env;
        env.push(("HOME".into(), home.path().into()));
        let service = Service::launch(
            demo,
            Setup {
                options: vec!["--flatpak-installations".into(), "demo".into()],
                env,
                ..Default::default()
            },
        );
        Self { service, home }
    }

    fn demo(&self) -> &Demo {
        &self.service.demo
    }
}

fn apps_proxy<'a>(service: &Service, conn: &'a Connection) -> Proxy<'a> {
    Proxy::new(conn, service.name.clone(), PATH, APPS_IFACE).unwrap()
}

fn list(apps: &Proxy) -> Vec<Dict> {
    apps.call("ListApps", &()).unwrap()
}

/// The entry of an app id (in the one installation the demo has; the newest branch of a
/// runtime when it has several).
fn entry<'d>(list: &'d [Dict], id: &str) -> Option<&'d Dict> {
    list.iter().filter(|a| string(a, "id") == id).last()
}

fn key_of(list: &[Dict], id: &str) -> String {
    string(
        entry(list, id).unwrap_or_else(|| panic!("{id} is not listed")),
        "key",
    )
}

/// AppsChanged signals as they come, subscribed to before anything happens.
struct Announcements(mpsc::Receiver<()>);

impl Announcements {
    fn subscribe(conn: &Connection) -> Self {
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(APPS_IFACE)
            .unwrap()
            .member("AppsChanged")
            .unwrap()
            .build();
        let messages = MessageIterator::for_match_rule(rule, conn, None).unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for message in messages {
                if message.is_ok() && tx.send(()).is_err() {
                    return;
                }
            }
        });
        Self(rx)
    }

    fn expect(&self, what: &str) {
        self.0
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no AppsChanged after {what}"));
    }

    fn drain(&self) {
        while self.0.try_recv().is_ok() {}
    }
}

/// Calls a method that starts a transaction and waits for its end: (success, error name, message).
fn run<B>(service: &Service, proxy: &Proxy, method: &str, body: &B) -> (bool, String, String)
where
    B: serde::Serialize + zbus::zvariant::DynamicType,
{
    let path: OwnedObjectPath = proxy.call(method, body).unwrap();
    let conn = proxy.connection();
    let tx = service.transaction(conn, &path);
    let (success, name, error) = wait_finished(&tx);
    let message = if success {
        tx.get_property("Message").unwrap()
    } else {
        error
    };
    (success, name, message)
}

fn no_options() -> HashMap<String, Value<'static>> {
    HashMap::new()
}

fn history(backend: &Proxy) -> Vec<Dict> {
    backend.call("GetHistory", &()).unwrap()
}

fn publish(demo: &Demo) {
    let out = Command::new(common::bin())
        .args(["demo", "publish", "--dir"])
        .arg(demo.root())
        .output()
        .unwrap();
    assert!(out.status.success(), "demo publish: {}", common::text(&out));
}

#[test]
fn list_shows_what_flatpak_has_installed() {
    let apps = Apps::start();
    let conn = apps.service.connect();
    let proxy = apps_proxy(&apps.service, &conn);
    let listed = list(&proxy);
    assert_eq!(
        keel_refs(&listed, None),
        flatpak_refs(apps.demo(), &[]),
        "Keel and `flatpak list` disagree"
    );
    assert_eq!(
        keel_refs(&listed, Some("app")),
        flatpak_refs(apps.demo(), &["--app"])
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
    let apps = Apps::start();
    let conn = apps.service.connect();
    let proxy = apps_proxy(&apps.service, &conn);
    let backend = apps.service.proxy(&conn);
    let announced = Announcements::subscribe(&conn);
    let before = list(&proxy);
    let notes = entry(&before, NOTES).unwrap().clone();
    assert_eq!(string(&notes, "update-commit"), "", "nothing published yet");
    publish(apps.demo());

    let (success, name, message) = run(&apps.service, &proxy, "CheckApps", &());
    assert!(success, "{name}: {message}");
    announced.expect("a check");
    let checked = list(&proxy);
    let waiting = string(entry(&checked, NOTES).unwrap(), "update-commit");
    assert_eq!(waiting.len(), 64, "Notes' update is known after the check");
    assert_ne!(waiting, string(&notes, "commit"));
    let weather_before = entry(&checked, WEATHER).unwrap().clone();

    announced.drain();
    let key = string(&notes, "key");
    let (success, name, message) = run(&apps.service, &proxy, "UpdateApps", &(vec![key],));
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
    let info = flatpak(apps.demo(), &["info", "--show-commit", NOTES]);
    assert_eq!(info.trim(), waiting);
    let last = history(&backend).pop().expect("a history entry");
    assert_eq!(string(&last, "operation"), "apps-update");
    assert!(get::<bool>(&last, "success"));
    assert_eq!(string(&last, "message"), message);
}

#[test]
fn update_without_keys_updates_everything_waiting() {
    let apps = Apps::start();
    let conn = apps.service.connect();
    let proxy = apps_proxy(&apps.service, &conn);
    publish(apps.demo());
    let (success, name, message) = run(&apps.service, &proxy, "CheckApps", &());
    assert!(success, "{name}: {message}");
    let waiting: Vec<String> = list(&proxy)
        .iter()
        .filter(|a| !string(a, "update-commit").is_empty())
        .map(|a| string(a, "id"))
        .collect();
    assert!(waiting.len() >= 2, "Notes and Sketch wait: {waiting:?}");
    let empty: Vec<String> = Vec::new();
    let (success, name, message) = run(&apps.service, &proxy, "UpdateApps", &(empty,));
    assert!(success, "{name}: {message}");
    let still: Vec<String> = list(&proxy)
        .iter()
        .filter(|a| !string(a, "update-commit").is_empty())
        .map(|a| string(a, "ref"))
        .collect();
    assert!(still.is_empty(), "still waiting: {still:?}");
    let updates = flatpak(apps.demo(), &["remote-ls", "--updates", "--columns=ref"]);
    assert_eq!(updates.trim(), "", "flatpak knows no update either");
}

#[test]
fn uninstall_keeps_data_unless_asked() {
    let apps = Apps::start();
    let conn = apps.service.connect();
    let proxy = apps_proxy(&apps.service, &conn);
    let data = |id: &str| apps.home.path().join(".var/app").join(id);
    for id in [NOTES, WEATHER] {
        std::fs::create_dir_all(data(id).join("data")).unwrap();
        std::fs::write(data(id).join("data/notes.txt"), "keep me").unwrap();
    }
    let listed = list(&proxy);
    let (success, name, message) = run(
        &apps.service,
        &proxy,
        "UninstallApps",
        &(vec![key_of(&listed, WEATHER)], no_options()),
    );
    assert!(success, "{name}: {message}");
    assert!(entry(&list(&proxy), WEATHER).is_none());
    assert!(
        !flatpak_refs(apps.demo(), &[])
            .iter()
            .any(|r| r.starts_with(WEATHER))
    );
    assert!(data(WEATHER).join("data/notes.txt").is_file(), "data kept");

    let delete: HashMap<String, Value> = [("delete-data".to_owned(), Value::from(true))].into();
    let (success, name, message) = run(
        &apps.service,
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
    let apps = Apps::start();
    let conn = apps.service.connect();
    let proxy = apps_proxy(&apps.service, &conn);
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
    let active: OwnedObjectPath = apps
        .service
        .proxy(&conn)
        .get_property("ActiveTransaction")
        .unwrap();
    assert_eq!(active.as_str(), "/");
    assert!(entry(&list(&proxy), NOTES).is_some());
}

#[test]
fn remove_unused_removes_only_unused_runtimes() {
    let apps = Apps::start();
    let conn = apps.service.connect();
    let proxy = apps_proxy(&apps.service, &conn);
    let before = list(&proxy);
    let unused: Vec<String> = before
        .iter()
        .filter(|a| get::<bool>(a, "unused"))
        .map(|a| string(a, "ref"))
        .collect();
    assert!(!unused.is_empty());
    let (success, name, message) = run(&apps.service, &proxy, "RemoveUnusedApps", &());
    assert!(success, "{name}: {message}");
    let after: Vec<String> = list(&proxy).iter().map(|a| string(a, "ref")).collect();
    let expected: Vec<String> = before
        .iter()
        .map(|a| string(a, "ref"))
        .filter(|r| !unused.contains(r))
        .collect();
    assert_eq!(after, expected);
    assert_eq!(
        history(&apps.service.proxy(&conn))
            .pop()
            .map(|e| string(&e, "operation")),
        Some("apps-remove-unused".to_owned())
    );
}

#[test]
fn changes_made_with_flatpak_are_announced() {
    let apps = Apps::start();
    let conn = apps.service.connect();
    let proxy = apps_proxy(&apps.service, &conn);
    assert!(entry(&list(&proxy), PAINT).is_none());
    let announced = Announcements::subscribe(&conn);
    flatpak(
        apps.demo(),
        &["install", "-y", "--noninteractive", "keel-demo", PAINT],
    );
    announced.expect("`flatpak install` in a terminal");
    assert!(entry(&list(&proxy), PAINT).is_some());
    announced.drain();
    flatpak(apps.demo(), &["uninstall", "-y", "--noninteractive", PAINT]);
    announced.expect("`flatpak uninstall` in a terminal");
    assert!(entry(&list(&proxy), PAINT).is_none());
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
    let apps = Apps::start_with(Demo::new(), env);
    let conn = apps.service.connect();
    let proxy = apps_proxy(&apps.service, &conn);
    let backend = apps.service.proxy(&conn);
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
    let (success, name, message) = wait_finished(&apps.service.transaction(&conn, &check));
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
    wait_finished(&apps.service.transaction(&conn, &update));
}

#[test]
fn without_flatpak_the_apps_say_so_and_the_system_still_works() {
    let empty = tempfile::tempdir().unwrap();
    let env = vec![("PATH".to_owned(), empty.path().as_os_str().to_owned())];
    let apps = Apps::start_with(Demo::new(), env);
    let conn = apps.service.connect();
    let proxy = apps_proxy(&apps.service, &conn);
    let backend = apps.service.proxy(&conn);
    let (success, name, message) = run(&apps.service, &proxy, "CheckApps", &());
    assert!(!success);
    assert!(name.ends_with(".Failed"), "{name}");
    assert!(message.contains("Flatpak is not installed"), "{message}");
    // Listing reads the disk, and the system's side is untouched.
    assert!(entry(&list(&proxy), NOTES).is_some());
    let (success, name, message) = run(&apps.service, &backend, "Check", &());
    assert!(success, "{name}: {message}");
}

#[test]
fn update_all_updates_the_apps_when_the_system_cannot_be() {
    let apps = Apps::start();
    let conn = apps.service.connect();
    let proxy = apps_proxy(&apps.service, &conn);
    let backend = apps.service.proxy(&conn);
    publish(apps.demo());
    apps.demo().set_remote_url("http://127.0.0.1:9");
    let before = apps.demo().fingerprint();
    let signals = transaction_signals(&conn);
    let (success, name, message) = run(&apps.service, &backend, "UpdateAll", &());
    assert!(!success, "the system part failed: {message}");
    assert!(name.ends_with(".Failed"), "{name}");
    assert!(message.contains("The system was not updated"), "{message}");
    assert_eq!(apps.demo().fingerprint(), before, "the system is unchanged");
    let listed = list(&proxy);
    let notes = entry(&listed, NOTES).unwrap();
    assert_eq!(string(notes, "update-commit"), "", "Notes was updated");
    assert_eq!(
        string(notes, "commit"),
        flatpak(apps.demo(), &["info", "--show-commit", NOTES]).trim()
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
    let last = history(&backend).pop().unwrap();
    assert_eq!(string(&last, "operation"), "update-all");
    assert!(!get::<bool>(&last, "success"));
    assert_eq!(string(&last, "message"), message);
}

#[test]
fn update_all_updates_the_system_then_the_apps() {
    let apps = Apps::start();
    let conn = apps.service.connect();
    let proxy = apps_proxy(&apps.service, &conn);
    let backend = apps.service.proxy(&conn);
    publish(apps.demo());
    let announced = Announcements::subscribe(&conn);
    let (success, name, message) = run(&apps.service, &backend, "UpdateAll", &());
    assert!(success, "{name}: {message}");
    announced.expect("Update All");
    let status = status(&backend);
    assert!(
        status.contains_key("pending-update"),
        "the system's update waits for a restart"
    );
    apps.demo().assert_agrees_with_ostree();
    assert!(
        list(&proxy)
            .iter()
            .all(|a| string(a, "update-commit").is_empty()),
        "every app is up to date"
    );
}

// ---- the command line -------------------------------------------------------------------------

fn cli(demo: &Demo, args: &[&str]) -> std::process::Output {
    demo.command(&["--flatpak-installations", "demo"])
        .args(args)
        .output()
        .unwrap()
}

fn cli_ok(demo: &Demo, args: &[&str]) -> String {
    common::succeeded(args, cli(demo, args))
}

#[test]
fn the_command_line_lists_updates_and_uninstalls() {
    let demo = Demo::new();
    let listed: Vec<keel_backend::apps::App> =
        serde_json::from_str(&cli_ok(&demo, &["apps", "list", "--json"])).unwrap();
    assert!(listed.iter().any(|a| a.id == NOTES));
    let text = cli_ok(&demo, &["apps", "list"]);
    assert!(
        text.contains("Notes") && text.contains("Runtimes:"),
        "{text}"
    );

    publish(&demo);
    let checked = cli_ok(&demo, &["apps", "check"]);
    assert!(checked.contains("Notes"), "{checked}");
    // An app id names one entry; a runtime id with two branches does not.
    cli_ok(&demo, &["apps", "update", NOTES]);
    let after: Vec<keel_backend::apps::App> =
        serde_json::from_str(&cli_ok(&demo, &["apps", "list", "--json"])).unwrap();
    assert!(!after.iter().find(|a| a.id == NOTES).unwrap().has_update());
    let err = common::failed(
        &["apps", "update", PLATFORM],
        cli(&demo, &["apps", "update", PLATFORM]),
        2,
    );
    assert!(
        err.matches(&format!("user:runtime/{PLATFORM}/")).count() == 2,
        "{err}"
    );
    let err = common::failed(
        &["apps", "uninstall", "org.nope"],
        cli(&demo, &["apps", "uninstall", "org.nope"]),
        3,
    );
    assert!(err.contains("org.nope"), "{err}");
    cli_ok(&demo, &["apps", "uninstall", WEATHER]);
    cli_ok(&demo, &["apps", "remove-unused"]);
    let left: Vec<String> = serde_json::from_str::<Vec<keel_backend::apps::App>>(&cli_ok(
        &demo,
        &["apps", "list", "--json"],
    ))
    .unwrap()
    .into_iter()
    .map(|a| a.reference)
    .collect();
    assert!(
        !left
            .iter()
            .any(|r| r.contains(WEATHER) || r.ends_with("/0")),
        "{left:?}"
    );
    let history = cli_ok(&demo, &["history"]);
    for op in ["apps-update", "apps-uninstall", "apps-remove-unused"] {
        assert!(history.contains(op), "{op} missing from:\n{history}");
    }
}

#[test]
fn the_command_line_updates_all() {
    let demo = Demo::new();
    publish(&demo);
    let out = cli_ok(&demo, &["update-all"]);
    assert!(out.contains("boots after a restart"), "{out}");
    let history = cli_ok(&demo, &["history"]);
    assert!(
        history.lines().last().unwrap().contains("update-all"),
        "{history}"
    );
    // A sysroot with no installation named has no apps, and says so when asked to change them.
    let bare = demo.command(&["apps", "check"]).output().unwrap();
    let err = common::failed(&["apps", "check"], bare, 3);
    assert!(err.contains("no Flatpak installation"), "{err}");
}
