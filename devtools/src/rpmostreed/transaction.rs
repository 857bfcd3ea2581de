//! The double's transactions, as rpm-ostreed runs them: one at a time, on a peer-to-peer D-Bus
//! server at a fixed socket address (no guid), the Transaction object at `/` on every peer
//! connection, nothing done before `Start()`, signals to every peer, and the slot (the Sysroot's
//! `ActiveTransaction`) freed only ~10 ms after the last peer connection closes.

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use keel_backend::driver::Cancel;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::Value;

use super::Daemon;

pub const INTERFACE: &str = "org.projectatomic.rpmostree1.Transaction";
/// How long after its last peer closed a transaction leaves the slot (rpm-ostreed: ~10 ms).
const RELEASE_DELAY: Duration = Duration::from_millis(10);
/// rpm-ostreed closes peer connections still open 30 s after a transaction finished.
const FORCE_CLOSE_AFTER: Duration = Duration::from_secs(30);

/// What a transaction does when started; see `ops.rs`.
#[derive(Clone, Debug)]
pub enum Operation {
    Check,
    Upgrade {
        download_only: bool,
    },
    Rollback,
    Cleanup {
        elements: Vec<String>,
    },
    Packages {
        install: Vec<String>,
        uninstall: Vec<String>,
        reset: bool,
        idempotent: bool,
    },
}

impl Operation {
    /// The name `--crash-during` matches.
    pub fn hook_name(&self) -> &'static str {
        match self {
            Operation::Check => "check",
            Operation::Upgrade { .. } => "upgrade",
            Operation::Rollback => "rollback",
            Operation::Cleanup { .. } => "cleanup",
            Operation::Packages { .. } => "packages",
        }
    }
}

/// One transaction and its peers.
pub struct Txn {
    /// The method that made it and its arguments, for the joining rule.
    pub method: String,
    pub arguments: String,
    pub sender: String,
    pub os_path: String,
    pub address: String,
    pub operation: Operation,
    /// The title after `Start()` (before it: `new-deployment` for deploy-type transactions).
    pub start_title: String,
    pub client_description: String,
    pub cancel: Cancel,
    state: Mutex<TxnState>,
    daemon: Weak<Daemon>,
    socket: PathBuf,
}

#[derive(Default)]
struct TxnState {
    title: String,
    started: bool,
    finished: Option<(bool, String)>,
    peers: Vec<zbus::Connection>,
    released: bool,
}

pub struct NewTxn {
    pub method: String,
    pub arguments: String,
    pub sender: String,
    pub os_path: String,
    pub operation: Operation,
    pub title: String,
    pub start_title: String,
    pub client_description: String,
}

impl Txn {
    /// Opens the socket and starts accepting peers.
    pub fn open(new: NewTxn, daemon: &Arc<Daemon>, socket: &Path) -> std::io::Result<Arc<Self>> {
        // rpm-ostreed unlinks and re-creates the socket for every transaction.
        let _ = std::fs::remove_file(socket);
        let listener = UnixListener::bind(socket)?;
        let txn = Arc::new(Self {
            method: new.method,
            arguments: new.arguments,
            sender: new.sender,
            os_path: new.os_path,
            address: format!("unix:path={}", socket.display()),
            operation: new.operation,
            start_title: new.start_title,
            client_description: new.client_description,
            cancel: Cancel::default(),
            state: Mutex::new(TxnState {
                title: new.title,
                ..Default::default()
            }),
            daemon: Arc::downgrade(daemon),
            socket: socket.to_owned(),
        });
        let weak = Arc::downgrade(&txn);
        std::thread::spawn(move || accept(listener, weak));
        Ok(txn)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, TxnState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn title(&self) -> String {
        self.state().title.clone()
    }

    pub fn is_finished(&self) -> bool {
        self.state().finished.is_some()
    }

    /// Sends a Transaction signal to every peer, in order.
    pub fn emit(&self, member: &str, body: &(impl serde::Serialize + zbus::zvariant::DynamicType)) {
        let peers = self.state().peers.clone();
        for peer in peers {
            let _ =
                async_io::block_on(peer.emit_signal(None::<&str>, "/", INTERFACE, member, body));
        }
    }

    pub fn message(&self, text: &str) {
        self.emit("Message", &(text,));
    }

    pub fn task_begin(&self, text: &str) {
        self.emit("TaskBegin", &(text,));
    }

    pub fn task_end(&self, text: &str) {
        self.emit("TaskEnd", &(text,));
    }

    pub fn percent(&self, text: &str, percentage: u32) {
        self.emit("PercentProgress", &(text, percentage));
    }

    pub fn progress_end(&self) {
        self.emit("ProgressEnd", &());
    }

    /// The Title changes at `Start()`: a PropertiesChanged on every peer.
    fn set_title(&self, title: &str) {
        let peers = {
            let mut state = self.state();
            if state.title == title {
                return;
            }
            state.title = title.to_owned();
            state.peers.clone()
        };
        for peer in peers {
            let _ = async_io::block_on(async {
                let emitter = SignalEmitter::new(&peer, "/")?;
                let changed = std::collections::HashMap::from([("Title", Value::from(title))]);
                zbus::fdo::Properties::properties_changed(
                    &emitter,
                    INTERFACE.try_into()?,
                    changed,
                    std::borrow::Cow::Borrowed(&[]),
                )
                .await
            });
        }
    }

    /// `Start()`: true when this call started the work.
    fn start(self: &Arc<Self>) -> bool {
        {
            let mut state = self.state();
            if state.started {
                return false;
            }
            state.started = true;
        }
        let txn = self.clone();
        std::thread::spawn(move || {
            // After Start's reply has gone out, as rpm-ostreed's idle callback does.
            std::thread::sleep(Duration::from_millis(1));
            txn.set_title(&txn.start_title.clone());
            let Some(daemon) = txn.daemon.upgrade() else {
                return;
            };
            let result = super::ops::run(&daemon, &txn);
            txn.finish(&daemon, result);
        });
        true
    }

    /// `Finished` to every peer, then whatever the operation leaves for after it.
    fn finish(self: &Arc<Self>, daemon: &Arc<Daemon>, result: super::ops::Outcome) {
        let (success, message) = match &result.result {
            Ok(()) => (true, String::new()),
            Err(fail) => (false, fail.message.clone()),
        };
        self.state().finished = Some((success, message.clone()));
        self.emit("Finished", &(success, message.as_str()));
        if let Some(after) = result.after {
            after(daemon);
        }
        self.release_if_unwatched();
        let txn = Arc::downgrade(self);
        std::thread::spawn(move || {
            std::thread::sleep(FORCE_CLOSE_AFTER);
            if let Some(txn) = txn.upgrade() {
                let peers = std::mem::take(&mut txn.state().peers);
                for peer in peers {
                    let _ = async_io::block_on(peer.close());
                }
                txn.release_if_unwatched();
            }
        });
    }

    /// Frees the slot ~10 ms after the last peer closed, once the work has finished.
    fn release_if_unwatched(self: &Arc<Self>) {
        let ready = {
            let state = self.state();
            state.peers.is_empty() && state.finished.is_some() && !state.released
        };
        if !ready {
            return;
        }
        let txn = self.clone();
        std::thread::spawn(move || {
            std::thread::sleep(RELEASE_DELAY);
            {
                let mut state = txn.state();
                if !state.peers.is_empty() || state.released {
                    return;
                }
                state.released = true;
            }
            let _ = std::fs::remove_file(&txn.socket);
            if let Some(daemon) = txn.daemon.upgrade() {
                daemon.release_transaction(&txn);
            }
        });
    }

    fn peer_closed(self: &Arc<Self>, peer: &zbus::Connection) {
        debug_assert!(peer.is_closed());
        self.state().peers.retain(|p| !p.is_closed());
        self.release_if_unwatched();
    }
}

/// Accepts peers until the transaction is gone.
fn accept(listener: UnixListener, txn: Weak<Txn>) {
    for stream in listener.incoming() {
        let Some(current) = txn.upgrade() else {
            return;
        };
        if current.state().released {
            return;
        }
        let Ok(stream) = stream else {
            continue;
        };
        let iface = TransactionIface {
            txn: Arc::downgrade(&current),
        };
        let built = async_io::block_on(async {
            zbus::connection::Builder::async_io_unix_stream(stream)
                .server(zbus::Guid::generate())?
                .p2p()
                .serve_at("/", iface)?
                .build()
                .await
        });
        let Ok(peer) = built else {
            continue;
        };
        current.state().peers.push(peer.clone());
        let weak = Arc::downgrade(&current);
        std::thread::spawn(move || {
            async_io::block_on(peer.closed());
            if let Some(txn) = weak.upgrade() {
                txn.peer_closed(&peer);
            }
        });
    }
}

/// `org.projectatomic.rpmostree1.Transaction` on one peer connection.
struct TransactionIface {
    txn: Weak<Txn>,
}

impl TransactionIface {
    fn txn(&self) -> zbus::fdo::Result<Arc<Txn>> {
        self.txn
            .upgrade()
            .ok_or_else(|| zbus::fdo::Error::Failed("The transaction has ended".into()))
    }
}

#[zbus::interface(name = "org.projectatomic.rpmostree1.Transaction")]
impl TransactionIface {
    #[zbus(property)]
    fn title(&self) -> String {
        self.txn().map(|t| t.title()).unwrap_or_default()
    }

    #[zbus(property)]
    fn initiating_client_description(&self) -> String {
        self.txn()
            .map(|t| t.client_description.clone())
            .unwrap_or_default()
    }

    fn cancel(&self) -> zbus::fdo::Result<()> {
        self.txn()?.cancel.cancel();
        Ok(())
    }

    #[zbus(out_args("started"))]
    async fn start(&self, #[zbus(connection)] conn: &zbus::Connection) -> zbus::fdo::Result<bool> {
        let txn = self.txn()?;
        let started = txn.start();
        // A late peer of a finished transaction hears Finished again.
        let finished = txn.state().finished.clone();
        if let (false, Some((success, message))) = (started, finished) {
            let conn = conn.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(1));
                let _ = async_io::block_on(conn.emit_signal(
                    None::<&str>,
                    "/",
                    INTERFACE,
                    "Finished",
                    &(success, message.as_str()),
                ));
            });
        }
        Ok(started)
    }

    #[zbus(signal)]
    async fn finished(
        emitter: &SignalEmitter<'_>,
        success: bool,
        error_message: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn message(emitter: &SignalEmitter<'_>, text: &str) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn task_begin(emitter: &SignalEmitter<'_>, text: &str) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn task_end(emitter: &SignalEmitter<'_>, text: &str) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn percent_progress(
        emitter: &SignalEmitter<'_>,
        text: &str,
        percentage: u32,
    ) -> zbus::Result<()>;

    #[allow(clippy::too_many_arguments)]
    #[zbus(signal)]
    async fn download_progress(
        emitter: &SignalEmitter<'_>,
        time: (u64, u64),
        outstanding: (u32, u32),
        metadata: (u32, u32, u32),
        delta: (u32, u32, u32, u64),
        content: (u32, u32),
        transfer: (u64, u64),
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn signature_progress(
        emitter: &SignalEmitter<'_>,
        signature: Vec<zbus::zvariant::OwnedValue>,
        commit: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn progress_end(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
}
