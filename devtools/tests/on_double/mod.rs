//! Keel's backend on the rpm-ostreed double, for the tests in rpmostree.rs: the harness, a private
//! session bus with `keel-backend --system serve` on it (and flatpak-session-helper for the sandbox
//! route), and small readers of what Keel's API answers.

use std::collections::HashMap;
use std::process::Child;
use std::time::{Duration, Instant};

use keel_devtools::double::{Harness, Options, double_exe};
use zbus::blocking::{Connection, Proxy};
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

pub const NAME: &str = "io.github.keelapp.Keel.Backend";
pub const PATH: &str = "/io/github/keelapp/Keel/Backend";
pub const IFACE: &str = "io.github.keelapp.Keel.Backend1";
pub const TX_IFACE: &str = "io.github.keelapp.Keel.Backend1.Transaction";

pub type Dict = HashMap<String, OwnedValue>;

pub const FLATPAK_SPAWN: &str = "/usr/libexec/flatpak-xdg-utils/flatpak-spawn";
pub const SESSION_HELPER: &str = "/usr/libexec/flatpak-session-helper";

pub fn wait_for_name(address: &str, name: &str) {
    let conn = zbus::blocking::connection::Builder::address(address)
        .unwrap()
        .build()
        .unwrap();
    let dbus = zbus::blocking::fdo::DBusProxy::new(&conn).unwrap();
    wait_for(name, || {
        dbus.name_has_owner(name.try_into().unwrap())
            .unwrap_or(false)
    });
}

/// The harness, a private session bus, and Keel's backend between them.
pub struct Keel {
    backend: Child,
    /// flatpak-session-helper, which runs `flatpak-spawn --host` commands (the sandbox route).
    helper: Option<Child>,
    bus: Child,
    address: String,
    _state: tempfile::TempDir,
    pub harness: Harness,
}

impl Keel {
    pub fn start(options: Options, route: &str) -> Self {
        Self::start_with(options, route, &[])
    }

    /// With more environment for the backend (and so for the commands it runs).
    pub fn start_with(options: Options, route: &str, env: &[(&str, &str)]) -> Self {
        let harness = Harness::start(options);
        let (bus, address) = keel_devtools::session::start_session_bus().expect("dbus-daemon runs");
        let state = tempfile::tempdir().unwrap();
        // The Flatpak's /usr/bin/flatpak-spawn, found on the backend's PATH.
        let bin = state.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(FLATPAK_SPAWN, bin.join("flatpak-spawn")).unwrap();
        // Outside a sandbox, flatpak-spawn --host asks flatpak-session-helper on the session bus;
        // what it runs gets the helper's environment (the harness's system bus and PATH).
        let helper = (route == "sandbox").then(|| {
            let helper = harness
                .command(SESSION_HELPER)
                .env("DBUS_SESSION_BUS_ADDRESS", &address)
                .envs(env.iter().copied())
                .spawn()
                .expect("flatpak-session-helper runs");
            wait_for_name(&address, "org.freedesktop.Flatpak");
            helper
        });
        let backend = harness
            .command(double_exe("keel-backend"))
            .env("PATH", format!("{}:{}", bin.display(), harness.path_env()))
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("KEEL_RPMOSTREE_ROUTE", route)
            .env("XDG_STATE_HOME", state.path())
            .envs(env.iter().copied())
            .args(["--system", "serve", "--idle-timeout", "0", "--address"])
            .arg(&address)
            .spawn()
            .expect("keel-backend runs");
        wait_for_name(&address, NAME);
        Self {
            backend,
            helper,
            bus,
            address,
            _state: state,
            harness,
        }
    }

    pub fn connect(&self) -> Connection {
        zbus::blocking::connection::Builder::address(self.address.as_str())
            .unwrap()
            .build()
            .unwrap()
    }

    pub fn status(&self, conn: &Connection) -> Dict {
        proxy(conn).call("GetStatus", &()).unwrap()
    }

    /// Starts a transaction and waits for its end: (success, error name, message, progress seen).
    pub fn run<B>(&self, conn: &Connection, method: &str, body: &B) -> Outcome
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        // Subscribed before the call, so no Progress signal is missed.
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(TX_IFACE)
            .unwrap()
            .member("Progress")
            .unwrap()
            .build();
        let signals = zbus::blocking::MessageIterator::for_match_rule(rule, conn, None).unwrap();
        let path: OwnedObjectPath = proxy(conn).call(method, body).unwrap();
        let mut outcome = follow(conn, &path);
        let fractions = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = fractions.clone();
        // The signals already queued; the iterator blocks once they are read, so it reads on a
        // thread of its own and what it has read by now is taken.
        std::thread::spawn(move || {
            for message in signals.flatten() {
                if let Ok((f, ..)) = message
                    .body()
                    .deserialize::<(f64, String, String, u64, u64)>()
                {
                    seen.lock().unwrap().push(f);
                }
            }
        });
        std::thread::sleep(Duration::from_millis(100));
        outcome.fractions = fractions.lock().unwrap().clone();
        outcome
    }
}

impl Drop for Keel {
    fn drop(&mut self) {
        for child in [Some(&mut self.backend), self.helper.as_mut()]
            .into_iter()
            .flatten()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

#[derive(Debug)]
pub struct Outcome {
    pub success: bool,
    pub error: String,
    pub message: String,
    pub fractions: Vec<f64>,
}

pub fn proxy(conn: &Connection) -> Proxy<'_> {
    Proxy::new(conn, NAME, PATH, IFACE).unwrap()
}

pub fn follow(conn: &Connection, path: &OwnedObjectPath) -> Outcome {
    let tx = zbus::blocking::proxy::Builder::<Proxy>::new(conn)
        .destination(NAME)
        .unwrap()
        .path(path.to_string())
        .unwrap()
        .interface(TX_IFACE)
        .unwrap()
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .unwrap();
    wait_for("the transaction to finish", || {
        tx.get_property::<String>("State").unwrap() != "running"
    });
    let state: String = tx.get_property("State").unwrap();
    Outcome {
        success: state == "succeeded",
        error: tx.get_property("ErrorName").unwrap(),
        message: if state == "succeeded" {
            tx.get_property("Message").unwrap()
        } else {
            tx.get_property("ErrorMessage").unwrap()
        },
        fractions: Vec::new(),
    }
}

pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn deployments(status: &Dict) -> Vec<Dict> {
    Vec::<Dict>::try_from(status["deployments"].try_clone().unwrap()).unwrap()
}

pub fn text(dict: &Dict, key: &str) -> String {
    dict.get(key)
        .and_then(|v| <&str>::try_from(v).ok())
        .unwrap_or_default()
        .to_owned()
}

pub fn flag(dict: &Dict, key: &str) -> bool {
    dict.get(key)
        .is_some_and(|v| bool::try_from(v).unwrap_or(false))
}

pub fn none() -> HashMap<&'static str, Value<'static>> {
    HashMap::new()
}

/// Checksums in boot order, as libostree sees the sysroot.
pub fn on_disk(harness: &Harness) -> Vec<String> {
    let status = keel_backend::driver::SystemDriver::status(&harness.driver()).unwrap();
    status.deployments.into_iter().map(|d| d.checksum).collect()
}
