//! The Apps tests' backend: `keel-backend serve` on a demo sysroot and a Flatpak installation of
//! its own (a copy of the demo's, `flatpak`), on a private bus (`bus`), and what the tests ask it.

use std::collections::HashMap;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use super::Demo;
use super::bus::*;
use super::flatpak::Apps;
use zbus::blocking::{Connection, MessageIterator, Proxy};
use zbus::zvariant::{OwnedObjectPath, Value};

/// Runs `flatpak COMMAND --user ARGS` on the test's installation, as a person in a terminal would.
pub fn flatpak(apps: &Apps, args: &[&str]) -> String {
    let mut with_user = vec![args[0], "--user"];
    with_user.extend(&args[1..]);
    apps.flatpak(&with_user)
}

/// Keel's refs, as flatpak's witness lists them.
pub fn refs(list: &[Dict]) -> Vec<String> {
    let mut refs: Vec<String> = list.iter().map(|a| string(a, "ref")).collect();
    refs.sort();
    refs
}

pub fn witness_refs(apps: &Apps) -> Vec<String> {
    apps.flatpak_list().into_iter().map(|row| row.0).collect()
}

/// The service on a demo sysroot and a Flatpak installation of its own; `home` holds ~/.var/app.
pub struct Served {
    pub service: Service,
    pub conn: Connection,
    pub apps: Apps,
    pub home: tempfile::TempDir,
}

impl Served {
    pub fn start() -> Self {
        Self::start_with(Vec::new())
    }

    pub fn start_with(mut env: Vec<(String, std::ffi::OsString)>) -> Self {
        let apps = Apps::new();
        let home = tempfile::tempdir().unwrap();
        env.push(("HOME".into(), home.path().into()));
        let service = Service::launch(
            Demo::new(),
            Setup {
                options: installation_option(&apps),
                env,
                ..Default::default()
            },
        );
        Self {
            conn: service.connect(),
            service,
            apps,
            home,
        }
    }

    pub fn demo(&self) -> &Demo {
        &self.service.demo
    }

    /// `io.github.keelapp.Keel.Apps1`.
    pub fn apps_proxy(&self) -> Proxy<'_> {
        apps_proxy(&self.service, &self.conn)
    }

    /// `io.github.keelapp.Keel.Backend1`.
    pub fn backend(&self) -> Proxy<'_> {
        self.service.proxy(&self.conn)
    }

    pub fn active(&self) -> String {
        let active: OwnedObjectPath = self.backend().get_property("ActiveTransaction").unwrap();
        active.to_string()
    }
}

/// `--flatpak-installations DIR`: the test's own installation.
pub fn installation_option(apps: &Apps) -> Vec<String> {
    vec![
        "--flatpak-installations".into(),
        apps.user_dir().display().to_string(),
    ]
}

/// A new version of Notes on the installation's remote.
pub fn publish_app(apps: &Apps) {
    keel_backend::demo::apps::publish(apps.dir.path())
        .unwrap()
        .expect("the remote has Notes");
}

pub fn apps_proxy<'a>(service: &Service, conn: &'a Connection) -> Proxy<'a> {
    Proxy::new(conn, service.name.clone(), PATH, APPS_IFACE).unwrap()
}

pub fn list(apps: &Proxy) -> Vec<Dict> {
    apps.call("ListApps", &()).unwrap()
}

/// The entry of an app id (in the one installation the demo has; the newest branch of a
/// runtime when it has several).
pub fn entry<'d>(list: &'d [Dict], id: &str) -> Option<&'d Dict> {
    list.iter().rfind(|a| string(a, "id") == id)
}

pub fn key_of(list: &[Dict], id: &str) -> String {
    string(
        entry(list, id).unwrap_or_else(|| panic!("{id} is not listed")),
        "key",
    )
}

/// AppsChanged signals as they come, subscribed to before anything happens.
pub struct Announcements(mpsc::Receiver<()>);

impl Announcements {
    pub fn subscribe(conn: &Connection) -> Self {
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

    pub fn expect(&self, what: &str) {
        self.0
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no AppsChanged after {what}"));
    }

    pub fn drain(&self) {
        while self.0.try_recv().is_ok() {}
    }
}

/// Calls a method that starts a transaction and waits for its end: (success, error name, message).
pub fn run<B>(service: &Service, proxy: &Proxy, method: &str, body: &B) -> (bool, String, String)
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

pub fn no_options() -> HashMap<String, Value<'static>> {
    HashMap::new()
}

/// The history's last entry is this operation, ended so, with the sentence Finished carried.
pub fn assert_recorded(backend: &Proxy, operation: &str, success: bool, message: &str) {
    let entries: Vec<Dict> = backend.call("GetHistory", &()).unwrap();
    let last = entries.last().expect("a history entry");
    assert_eq!(string(last, "operation"), operation);
    assert_eq!(get::<bool>(last, "success"), success);
    assert_eq!(string(last, "message"), message);
}

pub fn publish(demo: &Demo) {
    let out = Command::new(super::bin())
        .args(["demo", "publish", "--dir"])
        .arg(demo.root())
        .output()
        .unwrap();
    assert!(out.status.success(), "demo publish: {}", super::text(&out));
}
