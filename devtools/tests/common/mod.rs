//! A GDBus client for the tests of the rpm-ostreed double: it sees values as GVariants, as the
//! recordings' tracer (GDBus in Python) did, so both can be compared as they are.

#![allow(dead_code)]

pub mod recorded;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ostree::{gio, glib};

pub const NAME: &str = "org.projectatomic.rpmostree1";
pub const SYSROOT: &str = "/org/projectatomic/rpmostree1/Sysroot";
pub const SYSROOT_IFACE: &str = "org.projectatomic.rpmostree1.Sysroot";
pub const OS_IFACE: &str = "org.projectatomic.rpmostree1.OS";
pub const TXN_IFACE: &str = "org.projectatomic.rpmostree1.Transaction";

/// The recordings and the reference XML, copied into the repository.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/rpmostreed")
        .join(name)
}

/// A signal as the tracer saw it: from the peer connection or the bus.
#[derive(Clone, Debug)]
pub struct Event {
    pub peer: bool,
    pub path: String,
    pub interface: String,
    pub member: String,
    pub args: glib::Variant,
}

impl Event {
    /// `Member` for peer signals, `PC <object> [Keys]` for PropertiesChanged.
    pub fn shape(&self) -> String {
        if self.member == "PropertiesChanged" {
            let object = self.path.rsplit('/').next().unwrap_or_default();
            let object = if self.peer {
                "txn"
            } else if object == "Sysroot" {
                "Sysroot"
            } else {
                "OS"
            };
            let mut keys: Vec<String> = self
                .args
                .child_value(1)
                .iter()
                .map(|e| e.child_value(0).str().unwrap_or_default().to_owned())
                .collect();
            keys.sort();
            format!("PC {object} {keys:?}")
        } else {
            self.member.clone()
        }
    }
}

type Events = Arc<Mutex<Vec<Event>>>;

/// Records every signal a connection receives, as it arrives (GDBus's worker thread).
fn record(conn: &gio::DBusConnection, events: &Events, peer: bool) {
    let sink = events.clone();
    conn.add_filter(move |_, message, incoming| {
        if incoming && message.message_type() == gio::DBusMessageType::Signal {
            let text = |s: Option<glib::GString>| s.map(|s| s.to_string()).unwrap_or_default();
            sink.lock().unwrap().push(Event {
                peer,
                path: text(message.path()),
                interface: text(message.interface()),
                member: text(message.member()),
                args: message
                    .body()
                    .unwrap_or_else(|| glib::Variant::tuple_from_iter(Vec::<glib::Variant>::new())),
            });
        }
        Some(message.clone())
    });
}

/// A D-Bus error as GDBus hands it over: the remote name and the message.
#[derive(Debug)]
pub struct RemoteError {
    pub name: String,
    pub message: String,
}

pub struct Client {
    pub bus: gio::DBusConnection,
    context: glib::MainContext,
    events: Events,
}

impl Client {
    pub fn new(address: &str) -> Self {
        let context = glib::MainContext::new();
        let events = Events::default();
        let bus = context
            .with_thread_default(|| {
                let flags = gio::DBusConnectionFlags::AUTHENTICATION_CLIENT
                    | gio::DBusConnectionFlags::MESSAGE_BUS_CONNECTION;
                let bus = gio::DBusConnection::for_address_sync(
                    address,
                    flags,
                    None,
                    gio::Cancellable::NONE,
                )
                .expect("the private bus answers");
                // The subscription makes the bus send the signals; the filter records them as they
                // arrive, in the same order as the peer's.
                bus.signal_subscribe(
                    Some(NAME),
                    None,
                    None,
                    None,
                    None,
                    gio::DBusSignalFlags::NONE,
                    |_, _, _, _, _, _| {},
                );
                record(&bus, &events, false);
                bus
            })
            .expect("a thread-default context");
        Self {
            bus,
            context,
            events,
        }
    }

    pub fn unique_name(&self) -> String {
        self.bus
            .unique_name()
            .map(|n| n.to_string())
            .unwrap_or_default()
    }

    /// Calls a method on the double; the reply's tuple.
    pub fn call(
        &self,
        path: &str,
        interface: &str,
        method: &str,
        args: Option<&str>,
    ) -> Result<glib::Variant, RemoteError> {
        let args = args.map(|text| glib::Variant::parse(None, text).expect("GVariant text"));
        let reply = self.bus.call_sync(
            Some(NAME),
            path,
            interface,
            method,
            args.as_ref(),
            None,
            gio::DBusCallFlags::NONE,
            30_000,
            gio::Cancellable::NONE,
        );
        self.pump(Duration::ZERO);
        reply.map_err(|mut err| {
            let name = gio::DBusError::remote_error(&err)
                .map(|n| n.to_string())
                .unwrap_or_default();
            gio::DBusError::strip_remote_error(&mut err);
            RemoteError {
                name,
                message: err.message().to_owned(),
            }
        })
    }

    /// A property's value (the variant's content).
    pub fn get(&self, path: &str, interface: &str, property: &str) -> glib::Variant {
        let reply = self
            .call(
                path,
                "org.freedesktop.DBus.Properties",
                "Get",
                Some(&format!("('{interface}', '{property}')")),
            )
            .unwrap_or_else(|e| panic!("Get {property}: {e:?}"));
        reply.child_value(0).as_variant().expect("a variant")
    }

    pub fn os_path(&self) -> String {
        self.get(SYSROOT, SYSROOT_IFACE, "Booted")
            .str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn os(&self, property: &str) -> glib::Variant {
        self.get(&self.os_path(), OS_IFACE, property)
    }

    pub fn sysroot(&self, property: &str) -> glib::Variant {
        self.get(SYSROOT, SYSROOT_IFACE, property)
    }

    /// Dispatches what has arrived, for at least `wait`.
    pub fn pump(&self, wait: Duration) {
        let until = Instant::now() + wait;
        self.context
            .with_thread_default(|| {
                loop {
                    while self.context.iteration(false) {}
                    if Instant::now() >= until {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
            .expect("a thread-default context");
    }

    /// Pumps until `done` holds for the events so far, or panics after `limit`.
    pub fn pump_until(&self, limit: Duration, what: &str, done: impl Fn(&[Event]) -> bool) {
        let until = Instant::now() + limit;
        loop {
            self.pump(Duration::ZERO);
            if done(&self.events.lock().unwrap()) {
                return;
            }
            assert!(Instant::now() < until, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Forgets the signals seen so far.
    pub fn take_events(&self) -> Vec<Event> {
        self.pump(Duration::ZERO);
        std::mem::take(&mut *self.events.lock().unwrap())
    }

    /// Connects to a transaction's address as the CLI does (peer to peer, signals at `/`).
    pub fn connect_peer(&self, address: &str) -> gio::DBusConnection {
        self.context
            .with_thread_default(|| {
                let peer = gio::DBusConnection::for_address_sync(
                    address,
                    gio::DBusConnectionFlags::AUTHENTICATION_CLIENT,
                    None,
                    gio::Cancellable::NONE,
                )
                .expect("the transaction socket answers");
                record(&peer, &self.events, true);
                peer
            })
            .expect("a thread-default context")
    }

    pub fn peer_call(
        &self,
        peer: &gio::DBusConnection,
        interface: &str,
        method: &str,
        args: Option<&str>,
    ) -> glib::Variant {
        let args = args.map(|text| glib::Variant::parse(None, text).expect("GVariant text"));
        let reply = peer
            .call_sync(
                None,
                "/",
                interface,
                method,
                args.as_ref(),
                None,
                gio::DBusCallFlags::NONE,
                30_000,
                gio::Cancellable::NONE,
            )
            .unwrap_or_else(|e| panic!("{method} on the transaction: {e}"));
        self.pump(Duration::ZERO);
        reply
    }

    /// Runs a transaction to its end as the recordings' tracer did: connect, `Start()`, wait for
    /// `Finished` (or the peer vanishing), wait a little for trailing property changes, close
    /// the peer and wait for the slot to be freed. Returns the signals from `Start()` on.
    pub fn run(&self, address: &str) -> Vec<Event> {
        let peer = self.connect_peer(address);
        self.take_events();
        let started = self.peer_call(&peer, TXN_IFACE, "Start", None);
        assert_eq!(started.print(true).as_str(), "(true,)");
        let closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = closed.clone();
        peer.connect_closed(move |_, _, _| flag.store(true, std::sync::atomic::Ordering::SeqCst));
        self.pump_until(Duration::from_secs(60), "Finished", |events| {
            closed.load(std::sync::atomic::Ordering::SeqCst)
                || events.iter().any(|e| e.member == "Finished")
        });
        self.pump(Duration::from_millis(150));
        let _ = peer.close_sync(gio::Cancellable::NONE);
        if !closed.load(std::sync::atomic::Ordering::SeqCst) {
            self.pump_until(Duration::from_secs(5), "the slot to be freed", |events| {
                events.iter().any(is_slot_freed)
            });
        }
        self.take_events()
    }
}

/// The Sysroot's PropertiesChanged of the transaction slot (ActiveTransaction and its path).
pub fn is_slot_change(event: &Event) -> bool {
    event.member == "PropertiesChanged"
        && event.path == SYSROOT
        && glib::VariantDict::new(Some(&event.args.child_value(1)))
            .lookup_value("ActiveTransactionPath", None)
            .is_some()
}

/// Signal shapes in order, without the slot's changes (they come from the bus, timed apart).
pub fn shapes(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| !is_slot_change(e))
        .map(Event::shape)
        .collect()
}

/// The Sysroot's PropertiesChanged that empties ActiveTransactionPath.
pub fn is_slot_freed(event: &Event) -> bool {
    event.member == "PropertiesChanged"
        && event.path == SYSROOT
        && glib::VariantDict::new(Some(&event.args.child_value(1)))
            .lookup_value("ActiveTransactionPath", None)
            .is_some_and(|v| v.str() == Some(""))
}

/// What a value is made of, for comparing with a recording: dictionaries `a{sv}` by their keys and
/// the shapes of their values, arrays of dictionaries element by element, anything else by its
/// type. Commit metadata (`…-commit-meta`) differs between trees and counts by its type only.
pub fn shape(v: &glib::Variant) -> String {
    let ty = v.type_().as_str();
    if ty == "v" {
        return shape(&v.as_variant().expect("a variant"));
    }
    if ty == "a{sv}" {
        let mut entries: Vec<String> = v
            .iter()
            .map(|e| {
                let key = e.child_value(0).str().unwrap_or_default().to_owned();
                let value = e.child_value(1).as_variant().expect("a{sv} holds variants");
                if key.ends_with("-commit-meta") {
                    format!("{key}: {}", value.type_().as_str())
                } else {
                    format!("{key}: {}", shape(&value))
                }
            })
            .collect();
        entries.sort();
        return format!("{{{}}}", entries.join(", "));
    }
    if ty == "aa{sv}" {
        let items: Vec<String> = v.iter().map(|e| shape(&e)).collect();
        return format!("[{}]", items.join(", "));
    }
    ty.to_owned()
}
