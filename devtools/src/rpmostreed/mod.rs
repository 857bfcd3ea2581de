//! A **test double of rpm-ostreed**, for Keel's tests only (rpm-ostreed cannot run on the machines
//! Keel is tested on). It follows the real daemon's D-Bus interface exactly — the names, signatures
//! and object paths of rpm-ostree's `org.projectatomic.rpmostree1.xml` — and what a real
//! rpm-ostreed v2025.6 was recorded doing (tests/data/rpmostreed/): the fixed transaction socket,
//! the GIO-coded Busy error and its joining rule, the Title change at `Start()`, the slot freed
//! after the last peer leaves, the signal order, `@a{sv} {}` for absent values.
//!
//! Behind it is Keel's own libostree driver on a real (temporary) sysroot, so state really changes:
//! `state` computes the properties, `objects` serves the Sysroot and OS objects, `transaction`
//! runs transactions and `ops` does their work.
//!
//! What it does not reproduce: rpm, rpm-md repositories and scripts (layering composes Keel's own
//! package source), polkit (a test hook refuses instead), real staging (libostree stages only on a
//! booted system: the deployment an upgrade makes is marked staged until the next simulated boot),
//! idle exit, container origins, and methods Keel never calls (they answer with an error).

mod gv;
mod objects;
mod ops;
pub mod state;
mod transaction;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ostree::glib;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::Value;

pub use objects::{OS_INTERFACE, SYSROOT_INTERFACE, SYSROOT_PATH};
use state::{Backend, Snapshot};
pub use transaction::{Operation, Txn};

pub const BUS_NAME: &str = "org.projectatomic.rpmostree1";
pub const BASE_PATH: &str = "/org/projectatomic/rpmostree1";
/// Where rpm-ostreed listens for transaction peers.
pub const DEFAULT_TRANSACTION_SOCKET: &str = "/run/rpm-ostree-transaction.sock";

/// Test hooks: ways to make the double behave as the real daemon does in situations a test cannot
/// otherwise create.
#[derive(Clone, Debug, Default)]
pub struct Hooks {
    /// Every method that needs polkit fails as when polkit refuses.
    pub deny_authorization: bool,
    /// The process exits in the middle of this operation (`check`, `upgrade`, `rollback`,
    /// `cleanup`, `packages`), without `Finished`.
    pub crash_during: Option<String>,
    /// A pause before each step of a transaction, so a test can cancel it or start another.
    pub step_delay: Duration,
}

#[derive(Clone, Debug)]
pub struct Options {
    /// The system bus address (else `DBUS_SYSTEM_BUS_ADDRESS`).
    pub bus: Option<String>,
    pub sysroot: PathBuf,
    pub transaction_socket: PathBuf,
    pub automatic_update_policy: String,
    /// A file holding the cached update's `advisories`, as GVariant text of type `a(suuasa{sv})`.
    pub advisories: Option<PathBuf>,
    pub hooks: Hooks,
}

/// The double's shared state: the bus, the sysroot, the property values, the transaction slot.
pub struct Daemon {
    pub bus: zbus::Connection,
    backend: Arc<Mutex<Backend>>,
    snapshot: Mutex<Snapshot>,
    slot: Mutex<Option<Arc<Txn>>>,
    pub hooks: Hooks,
    pub options: Options,
    /// Registered clients: unique name → id.
    clients: Mutex<HashMap<String, String>>,
}

/// Serves until the process is killed.
pub fn run(options: Options) -> Result<(), String> {
    let advisories = match &options.advisories {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("Reading {}: {e}", path.display()))?;
            let ty = glib::VariantTy::new("a(suuasa{sv})").expect("a type");
            Some(
                glib::Variant::parse(Some(ty), text.trim())
                    .map_err(|e| format!("{}: {e}", path.display()))?,
            )
        }
        None => None,
    };
    let backend = Backend::open(&options.sysroot, advisories).map_err(|f| f.message)?;
    let snapshot = backend.snapshot().map_err(|f| f.message)?;
    let address = match &options.bus {
        Some(address) => address.clone(),
        None => std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
            .map_err(|_| "Give --bus ADDRESS or set DBUS_SYSTEM_BUS_ADDRESS".to_owned())?,
    };
    async_io::block_on(async move {
        let bus = zbus::connection::Builder::address(address.as_str())?
            .build()
            .await?;
        let daemon = Arc::new(Daemon {
            bus: bus.clone(),
            backend: Arc::new(Mutex::new(backend)),
            snapshot: Mutex::new(snapshot),
            slot: Mutex::new(None),
            hooks: options.hooks.clone(),
            options,
            clients: Mutex::new(HashMap::new()),
        });
        objects::serve(&daemon).await?;
        bus.request_name(BUS_NAME).await?;
        watch_sysroot(&daemon);
        std::future::pending::<()>().await;
        Ok::<(), zbus::Error>(())
    })
    .map_err(|e| format!("D-Bus: {e}"))
}

/// Notices changes made by other programs (`ostree admin pin`…) within ~50 ms, as rpm-ostreed
/// does through its sysroot watch.
fn watch_sysroot(daemon: &Arc<Daemon>) {
    let daemon = daemon.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(20));
            if daemon.transaction_running() {
                continue;
            }
            let changed = daemon.with_backend(|b| b.reload()).unwrap_or(false);
            if changed {
                daemon.refresh();
            }
        }
    });
}

impl Daemon {
    /// Runs `f` with the sysroot, on this thread.
    pub fn with_backend<T>(&self, f: impl FnOnce(&Backend) -> T) -> T {
        let backend = self.backend.lock().unwrap_or_else(|e| e.into_inner());
        f(&backend)
    }

    /// Runs `f` with the sysroot on a thread of its own, so the bus goes on answering meanwhile.
    pub async fn backend<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Backend) -> T + Send + 'static,
    ) -> T {
        let backend = self.backend.clone();
        let (tx, rx) = async_channel::bounded(1);
        std::thread::spawn(move || {
            let backend = backend.lock().unwrap_or_else(|e| e.into_inner());
            let _ = tx.send_blocking(f(&backend));
        });
        rx.recv().await.expect("the sysroot thread answers")
    }

    pub fn snapshot(&self) -> MutexGuard<'_, Snapshot> {
        self.snapshot.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn os_path(&self) -> String {
        os_path(&self.snapshot().osname)
    }

    pub fn sysroot_path(&self) -> String {
        self.options.sysroot.display().to_string()
    }

    pub fn active(&self) -> Option<Arc<Txn>> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn transaction_running(&self) -> bool {
        self.active().is_some_and(|t| !t.is_finished())
    }

    pub fn clients(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Re-reads everything and announces what changed: the OS object first, then the Sysroot's
    /// Deployments, each as one PropertiesChanged (the recorded order).
    pub fn refresh(&self) {
        let Ok(new) = self.with_backend(|b| b.snapshot()) else {
            return;
        };
        let old = std::mem::replace(&mut *self.snapshot(), new.clone());
        let mut os: Vec<(&str, Value<'static>)> = Vec::new();
        if old.booted != new.booted {
            os.push(("BootedDeployment", dict_value(&new.booted)));
        }
        if old.default != new.default {
            os.push(("DefaultDeployment", dict_value(&new.default)));
        }
        if old.rollback != new.rollback {
            os.push(("RollbackDeployment", dict_value(&new.rollback)));
        }
        if old.cached_update != new.cached_update {
            os.push(("CachedUpdate", dict_value(&new.cached_update)));
            if old.has_cached_update() != new.has_cached_update() {
                os.push((
                    "HasCachedUpdateRpmDiff",
                    Value::from(new.has_cached_update()),
                ));
            }
        }
        let os_changed = !os.is_empty();
        if os_changed {
            self.properties_changed(&os_path(&new.osname), OS_INTERFACE, os);
        }
        let deployments = old.deployments != new.deployments;
        if deployments {
            let list: Vec<_> = new.deployments.iter().map(gv::vardict).collect();
            let value = Value::from(list);
            self.properties_changed(
                SYSROOT_PATH,
                SYSROOT_INTERFACE,
                vec![("Deployments", value)],
            );
        }
        if deployments || os_changed {
            self.sync_bus();
        }
    }

    /// A round trip to the bus: the signals sent before it have left the bus when it returns, so
    /// a client reads them before the transaction's next peer signal (the recorded order).
    fn sync_bus(&self) {
        let _ = async_io::block_on(async {
            zbus::fdo::DBusProxy::new(&self.bus).await?.get_id().await
        });
    }

    pub fn properties_changed(&self, path: &str, interface: &str, changed: Vec<(&str, Value<'_>)>) {
        let result = async_io::block_on(async {
            let emitter = SignalEmitter::new(&self.bus, path)?;
            zbus::fdo::Properties::properties_changed(
                &emitter,
                interface.try_into()?,
                changed.into_iter().collect(),
                std::borrow::Cow::Borrowed(&[]),
            )
            .await
        });
        if let Err(err) = result {
            eprintln!("keel-rpmostreed-double: PropertiesChanged on {path}: {err}");
        }
    }

    /// Puts a new transaction in the slot, or joins an identical one, or refuses as rpm-ostreed
    /// does when another is active. Returns the address to connect to.
    pub fn begin(
        self: &Arc<Self>,
        new: transaction::NewTxn,
    ) -> Result<String, objects::DoubleError> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(active) = slot.as_ref() {
            if active.method == new.method && active.arguments == new.arguments {
                return Ok(active.address.clone());
            }
            return Err(objects::DoubleError::busy(&active.title()));
        }
        let txn = Txn::open(new, self, &self.options.transaction_socket).map_err(|e| {
            objects::DoubleError::failed(format!("Creating the transaction socket: {e}"))
        })?;
        let address = txn.address.clone();
        *slot = Some(txn.clone());
        drop(slot);
        // ActiveTransaction changes just after the method has returned.
        let daemon = self.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_micros(200));
            daemon.announce_slot(Some(&txn));
        });
        Ok(address)
    }

    /// Empties the slot if `txn` is still in it.
    pub fn release_transaction(&self, txn: &Arc<Txn>) {
        {
            let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
            if !slot.as_ref().is_some_and(|t| Arc::ptr_eq(t, txn)) {
                return;
            }
            *slot = None;
        }
        self.announce_slot(None);
    }

    fn announce_slot(&self, txn: Option<&Arc<Txn>>) {
        let (path, active) = active_values(txn.map(|t| t.as_ref()));
        self.properties_changed(
            SYSROOT_PATH,
            SYSROOT_INTERFACE,
            vec![
                ("ActiveTransactionPath", Value::from(path)),
                ("ActiveTransaction", Value::from(active)),
            ],
        );
    }
}

/// `ActiveTransactionPath` and `ActiveTransaction` for a transaction, or idle.
pub fn active_values(txn: Option<&Txn>) -> (String, (String, String, String)) {
    match txn {
        Some(t) => (
            t.address.clone(),
            (t.method.clone(), t.sender.clone(), t.os_path.clone()),
        ),
        None => (String::new(), Default::default()),
    }
}

fn dict_value(v: &glib::Variant) -> Value<'static> {
    Value::from(gv::vardict(v))
}

/// The OS object's path: rpm-ostree turns characters other than `[A-Za-z0-9_]` into `_`.
pub fn os_path(osname: &str) -> String {
    let name: String = osname
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{BASE_PATH}/{name}")
}
