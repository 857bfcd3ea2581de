//! A private message bus with `keel-backend serve` on it, and the helpers the D-Bus tests share.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Demo;
use zbus::blocking::{Connection, Proxy};
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

pub const PATH: &str = "/io/github/keelapp/Keel/Backend";
pub const IFACE: &str = "io.github.keelapp.Keel.Backend1";
pub const TX_IFACE: &str = "io.github.keelapp.Keel.Backend1.Transaction";
pub const APPS_IFACE: &str = "io.github.keelapp.Keel.Apps1";

/// How to start the backend.
#[derive(Default)]
pub struct Setup {
    /// More arguments for `serve`.
    pub serve_args: Vec<&'static str>,
    /// Compiled German translations: the backend then runs in a German session.
    pub german: Option<tempfile::TempDir>,
    /// Options before `serve` (`--flatpak-installations demo`).
    pub options: Vec<String>,
    /// Variables for the backend's environment (`PATH` without flatpak).
    pub env: Vec<(String, OsString)>,
}

/// A private message bus and `keel-backend serve` on it.
pub struct Service {
    backend: Option<Child>,
    /// The name this system's backend takes (one backend per sysroot).
    pub name: String,
    pub address: String,
    setup: Setup,
    pub demo: Demo,
    // Declared last: dropped after the backend is killed.
    _bus: Bus,
}

/// A private session bus, stopped when dropped (also when a test fails).
pub struct Bus {
    daemon: Child,
    pub address: String,
}

impl Bus {
    pub fn start() -> Self {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon runs");
        let mut address = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        Self {
            daemon,
            address: address.trim().to_owned(),
        }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        super::stop(&mut self.daemon);
    }
}

impl Service {
    pub fn start(demo: Demo) -> Self {
        Self::launch(demo, Setup::default())
    }

    pub fn start_with(demo: Demo, serve_args: &[&'static str]) -> Self {
        Self::launch(
            demo,
            Setup {
                serve_args: serve_args.to_vec(),
                ..Default::default()
            },
        )
    }

    /// The service in a German session, as a German desktop starts it.
    pub fn start_german(demo: Demo) -> Self {
        Self::launch(
            demo,
            Setup {
                german: Some(super::german_translations()),
                ..Default::default()
            },
        )
    }

    pub fn launch(demo: Demo, setup: Setup) -> Self {
        let bus = Bus::start();
        let mut service = Self {
            backend: None,
            name: keel_backend::dbus::bus_name(&demo.sysroot()),
            address: bus.address.clone(),
            setup,
            demo,
            _bus: bus,
        };
        service.spawn_backend();
        service
    }

    pub fn spawn_backend(&mut self) {
        let mut command = Command::new(super::bin());
        if let Some(translations) = &self.setup.german {
            super::german_session(&mut command, translations.path());
        }
        // The private bus is the backend's session bus, also for the programs it runs (flatpak
        // asks the permission store on it when it deletes an app's data).
        let child = command
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .envs(self.setup.env.iter().map(|(k, v)| (k, v)))
            .arg("--sysroot")
            .arg(self.demo.sysroot())
            .args(&self.setup.options)
            .args(["serve", "--idle-timeout", "0", "--address", &self.address])
            .args(&self.setup.serve_args)
            .spawn()
            .unwrap();
        self.backend = Some(child);
        let conn = self.connect();
        let dbus = zbus::blocking::fdo::DBusProxy::new(&conn).unwrap();
        wait_for("the backend to own its name", || {
            dbus.name_has_owner(self.name.as_str().try_into().unwrap())
                .unwrap_or(false)
        });
    }

    pub fn kill_backend(&mut self) {
        if let Some(mut child) = self.backend.take() {
            super::stop(&mut child);
        }
    }

    pub fn connect(&self) -> Connection {
        zbus::blocking::connection::Builder::address(self.address.as_str())
            .unwrap()
            .build()
            .unwrap()
    }

    pub fn proxy<'a>(&self, conn: &'a Connection) -> Proxy<'a> {
        Proxy::new(conn, self.name.clone(), PATH, IFACE).unwrap()
    }

    pub fn transaction<'a>(&self, conn: &'a Connection, path: &OwnedObjectPath) -> Proxy<'a> {
        zbus::blocking::proxy::Builder::new(conn)
            .destination(self.name.clone())
            .unwrap()
            .path(path.to_string())
            .unwrap()
            .interface(TX_IFACE)
            .unwrap()
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .unwrap()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill_backend();
    }
}

pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub type Dict = HashMap<String, OwnedValue>;

pub fn status(proxy: &Proxy) -> Dict {
    proxy.call("GetStatus", &()).unwrap()
}

pub fn deployments(status: &Dict) -> Vec<Dict> {
    let value: &Value = &status["deployments"];
    Vec::<Dict>::try_from(value.try_clone().unwrap()).unwrap()
}

pub fn get<'a, T: TryFrom<&'a OwnedValue>>(dict: &'a Dict, key: &str) -> T
where
    T::Error: std::fmt::Debug,
{
    T::try_from(&dict[key]).unwrap()
}

pub fn string(dict: &Dict, key: &str) -> String {
    <&str>::try_from(&dict[key]).unwrap().to_owned()
}

/// Waits for a transaction to end; returns (success, error name, message).
pub fn wait_finished(tx: &Proxy) -> (bool, String, String) {
    wait_for("the transaction to finish", || {
        tx.get_property::<String>("State").unwrap() != "running"
    });
    let state: String = tx.get_property("State").unwrap();
    (
        state == "succeeded",
        tx.get_property("ErrorName").unwrap(),
        tx.get_property("ErrorMessage").unwrap(),
    )
}

/// Every transaction's signals, subscribed to before anything starts so that none is missed.
pub fn transaction_signals(conn: &Connection) -> zbus::blocking::MessageIterator {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(TX_IFACE)
        .unwrap()
        .build();
    zbus::blocking::MessageIterator::for_match_rule(rule, conn, None).unwrap()
}
