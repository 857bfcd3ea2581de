//! `keel-backend serve`: the D-Bus API the UI talks to (`io.github.keelapp.Keel.Backend1`, and
//! `io.github.keelapp.Keel.Apps1` for the Flatpak apps, in `apps`).
//!
//! Reads answer from the reader threads (the slow ones, a package listing or a cleanup estimate,
//! on a thread of their own); each mutation becomes a transaction object (`transaction`) with one
//! 0–1 progress figure. One mutation runs at a time: an identical request joins it, another gets
//! `Busy`. A transaction runs to its end whoever disconnects. The API is documented in
//! data/dbus/README.md and its introspection is committed in data/dbus/.

mod apps;
mod transaction;
mod worker;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zbus::object_server::SignalEmitter;
use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue};
use zbus::{Connection, interface};

use crate::driver::{Cancel, CleanupSet};
use crate::error::Error;
use keel_api::TransactionState;
use keel_api::i18n::{fill, gettext};
use transaction::{ActiveGuard, Transaction, run_transaction};
pub use worker::Target;
use worker::{Answer, Changed, MutationJob, Query, Request, Workers};

pub use crate::dbus::{BUS_NAME, OBJECT_PATH};
use crate::dbus::{
    CleanupEstimateRecord, ConfigDiffRecord, DiffRecord, HistoryRecord, StatusRecord,
};
const TRANSACTION_PREFIX: &str = "/io/github/keelapp/Keel/Backend/Transaction";

/// The typed errors of the API; each message says what to do.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "io.github.keelapp.Keel.Backend1.Error")]
pub enum BackendError {
    #[zbus(error)]
    ZBus(zbus::Error),
    Busy(String),
    NotFound(String),
    InvalidArgument(String),
    PermissionDenied(String),
    Cancelled(String),
    Failed(String),
}

impl From<Error> for BackendError {
    fn from(err: Error) -> Self {
        match err {
            Error::Busy(m) => BackendError::Busy(m),
            Error::NotFound(m) => BackendError::NotFound(m),
            Error::InvalidArgument(m) => BackendError::InvalidArgument(m),
            Error::PermissionDenied(m) => BackendError::PermissionDenied(m),
            Error::Cancelled(m) => BackendError::Cancelled(m),
            Error::Failed(m) => BackendError::Failed(m),
        }
    }
}

/// What the D-Bus methods return (the interface macro recognises the name `Result`).
type Result<T, E = BackendError> = std::result::Result<T, E>;

pub struct Options {
    pub address: Option<String>,
    /// Exit after this long with no registered client, no call and no transaction; None = never.
    pub idle_timeout: Option<Duration>,
    /// For tests: every progress signal fails to go out, as on a connection that dropped.
    pub fail_progress_signals: bool,
    /// The Flatpak installations the Apps interface lists and changes; None for none (a test
    /// sysroot: the person's own apps are never touched unless asked).
    pub installations: Option<crate::apps::Installations>,
}

struct Active {
    request: Request,
    path: OwnedObjectPath,
}

#[derive(Default)]
struct State {
    active: Option<Active>,
    next_id: u64,
    clients: HashSet<String>,
    last_call: Option<Instant>,
    fail_progress_signals: bool,
}

/// The main object (cloned into the Apps interface, which shares its state).
#[derive(Clone)]
struct Backend {
    workers: Workers,
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn invalid(message: String) -> BackendError {
    BackendError::InvalidArgument(message)
}

/// Mutations name deployments by id: an index or a word (booted, pending, rollback) may point at
/// another deployment by the time the writer runs (the writer finds the id again under the lock).
fn require_id(spec: &str) -> Result<()> {
    if spec.parse::<u64>().is_ok() || matches!(spec, "booted" | "pending" | "rollback") {
        return Err(invalid(fill(
            // Translators: {spec} is what a program sent (an index or booted, pending, rollback);
            // GetStatus is a D-Bus method's name.
            &gettext(
                "“{spec}” names a deployment by its place, which can change before the request runs; name it by its id, as GetStatus lists it.",
            ),
            &[("spec", spec)],
        )));
    }
    Ok(())
}

/// Reads boolean options from an `a{sv}`, refusing unknown keys and wrong types.
fn bool_options(
    options: &HashMap<String, OwnedValue>,
    known: &[&str],
) -> Result<HashMap<String, bool>> {
    let mut out = HashMap::new();
    for (key, value) in options {
        if !known.contains(&key.as_str()) {
            return Err(invalid(fill(
                // Translators: {key} is an option a program sent, {known} the options there are.
                &gettext("Unknown option “{key}”; this method takes {known}."),
                &[("key", key), ("known", &known.join(", "))],
            )));
        }
        let flag = bool::try_from(value).map_err(|_| {
            invalid(fill(
                // Translators: {key} is an option a program sent; (b) is its D-Bus type.
                &gettext("Option “{key}” must be a boolean (b)."),
                &[("key", key)],
            ))
        })?;
        out.insert(key.clone(), flag);
    }
    Ok(out)
}

impl Backend {
    fn touch(&self) {
        lock(&self.state).last_call = Some(Instant::now());
    }

    async fn query(&self, query: Query) -> Result<Answer> {
        self.touch();
        Ok(self.workers.ask(query).await?)
    }

    /// Refuses at once what can never succeed (an unknown deployment, a bad package name), so a
    /// caller gets the error from its call rather than from a transaction that fails.
    async fn precheck(&self, request: &Request) -> Result<()> {
        let deployment = match request {
            Request::Pin { deployment }
            | Request::Unpin { deployment }
            | Request::Remove { deployment } => Some(deployment),
            Request::Rollback { target } if !target.is_empty() => Some(target),
            Request::Install { packages } | Request::Uninstall { packages } => {
                for name in packages {
                    crate::driver::validate_package_name(name)?;
                }
                None
            }
            _ => None,
        };
        if let Some(spec) = deployment {
            require_id(spec)?;
            if let Answer::Status(status) = self.workers.ask(Query::Status).await? {
                crate::driver::resolve(&status, spec)?;
            }
        }
        Ok(())
    }

    /// Starts a transaction for `request`, or joins the identical one running.
    async fn start(
        &self,
        request: Request,
        server: &zbus::ObjectServer,
        conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        self.touch();
        self.precheck(&request).await?;
        let (path, transaction) = {
            let mut state = lock(&self.state);
            if let Some(active) = &state.active {
                if active.request == request {
                    return Ok(active.path.clone());
                }
                return Err(BackendError::Busy(fill(
                    // Translators: {operation} is "An update", "A rollback", "A cleanup"….
                    &gettext(
                        "{operation} is running; wait for it to finish, or cancel it, then try again.",
                    ),
                    &[("operation", &active.request.operation().as_subject())],
                )));
            }
            state.next_id += 1;
            let path = OwnedObjectPath::try_from(format!("{TRANSACTION_PREFIX}/{}", state.next_id))
                .expect("a valid object path");
            state.active = Some(Active {
                request: request.clone(),
                path: path.clone(),
            });
            let transaction = Transaction {
                operation: request.operation(),
                state: TransactionState::Running,
                fraction: 0.0,
                phase: String::new(),
                message: String::new(),
                error_name: String::new(),
                error_message: String::new(),
                cancel: Cancel::default(),
            };
            (path, transaction)
        };
        // From here on, however this call or the transaction's D-Bus side ends, the guard clears
        // the active transaction.
        let guard = ActiveGuard {
            state: self.state.clone(),
            path: path.clone(),
        };
        let cancel = transaction.cancel.clone();
        let emitter = SignalEmitter::new(conn, OBJECT_PATH)?;
        server.at(&path, transaction).await?;
        // Past this point a failure also takes the transaction object off the bus: it would
        // otherwise say "running" for ever.
        if let Err(err) = self.active_transaction_changed(&emitter).await {
            drop(guard);
            let _ = server.remove::<Transaction, _>(&path).await;
            return Err(err.into());
        }

        let (events, events_rx) = async_channel::unbounded();
        let started = self.workers.run(MutationJob {
            request: request.clone(),
            cancel,
            events,
        });
        if let Err(err) = started {
            drop(guard);
            let _ = server.remove::<Transaction, _>(&path).await;
            let _ = self.active_transaction_changed(&emitter).await;
            return Err(err.into());
        }
        let task_conn = conn.clone();
        let task_path = path.clone();
        conn.executor()
            .spawn(
                run_transaction(task_conn, task_path, events_rx, guard),
                "keel-transaction",
            )
            .detach();
        Ok(path)
    }
}

#[interface(name = "io.github.keelapp.Keel.Backend1")]
impl Backend {
    /// Everything Keel knows about the system (see data/dbus/README.md for the keys).
    #[zbus(out_args("status"))]
    async fn get_status(&self) -> Result<StatusRecord> {
        match self.query(Query::Status).await? {
            Answer::Status(status) => Ok((*status).into()),
            _ => unreachable!("the reader answers what it is asked"),
        }
    }

    #[zbus(out_args("diff"))]
    async fn get_diff(&self, from: String, to: String) -> Result<DiffRecord> {
        match self.query(Query::Diff(from, to)).await? {
            Answer::Diff(diff) => Ok(diff.into()),
            _ => unreachable!("the reader answers what it is asked"),
        }
    }

    #[zbus(out_args("changes"))]
    async fn get_config_diff(&self, deployment: String) -> Result<ConfigDiffRecord> {
        let deployment = if deployment.is_empty() {
            "booted".to_owned()
        } else {
            deployment
        };
        match self.query(Query::ConfigDiff(deployment)).await? {
            Answer::ConfigDiff(diff) => Ok(diff.into()),
            _ => unreachable!("the reader answers what it is asked"),
        }
    }

    #[zbus(out_args("entries"))]
    async fn get_history(&self) -> Result<Vec<HistoryRecord>> {
        match self.query(Query::History).await? {
            Answer::History(entries) => Ok(entries.into_iter().map(Into::into).collect()),
            _ => unreachable!("the reader answers what it is asked"),
        }
    }

    /// Every package of a deployment (index, id, booted, pending, rollback) or of a commit given by
    /// its checksum: (name, epoch, version, release, arch), as `rpmostree.rpmdb.pkglist`.
    #[zbus(out_args("packages"))]
    async fn get_packages(&self, deployment: String) -> Result<Vec<crate::packages::Package>> {
        match self.query(Query::DeploymentPackages(deployment)).await? {
            Answer::DeploymentPackages(list) => Ok(list),
            _ => unreachable!("the reader answers what it is asked"),
        }
    }

    /// Packages the package source offers: (name, evr, arch, summary).
    #[zbus(out_args("packages"))]
    async fn list_packages(&self) -> Result<Vec<(String, String, String, String)>> {
        match self.query(Query::Packages).await? {
            Answer::Packages(list) => Ok(list
                .into_iter()
                .map(|p| (p.name, p.evr, p.arch, p.summary))
                .collect()),
            _ => unreachable!("the reader answers what it is asked"),
        }
    }

    #[zbus(out_args("transaction"))]
    async fn check(
        &self,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        self.start(Request::Check, server, conn).await
    }

    /// Options: `download-only` (b).
    #[zbus(out_args("transaction"))]
    async fn update(
        &self,
        options: HashMap<String, OwnedValue>,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        let options = bool_options(&options, &["download-only"])?;
        let download_only = options.get("download-only").copied().unwrap_or(false);
        self.start(Request::Update { download_only }, server, conn)
            .await
    }

    /// `deployment`: "" for the rollback deployment, else the id of the one to boot next.
    #[zbus(out_args("transaction"))]
    async fn rollback(
        &self,
        deployment: String,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        self.start(Request::Rollback { target: deployment }, server, conn)
            .await
    }

    #[zbus(out_args("transaction"))]
    async fn pin(
        &self,
        deployment: String,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        self.start(Request::Pin { deployment }, server, conn).await
    }

    #[zbus(out_args("transaction"))]
    async fn unpin(
        &self,
        deployment: String,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        self.start(Request::Unpin { deployment }, server, conn)
            .await
    }

    #[zbus(out_args("transaction"))]
    async fn remove(
        &self,
        deployment: String,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        self.start(Request::Remove { deployment }, server, conn)
            .await
    }

    #[zbus(out_args("transaction"))]
    async fn install_packages(
        &self,
        packages: Vec<String>,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        if packages.is_empty() {
            return Err(invalid(gettext("Name at least one package to install.")));
        }
        self.start(Request::Install { packages }, server, conn)
            .await
    }

    #[zbus(out_args("transaction"))]
    async fn uninstall_packages(
        &self,
        packages: Vec<String>,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        if packages.is_empty() {
            return Err(invalid(gettext("Name at least one package to remove.")));
        }
        self.start(Request::Uninstall { packages }, server, conn)
            .await
    }

    #[zbus(out_args("transaction"))]
    async fn reset_packages(
        &self,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        self.start(Request::ResetPackages, server, conn).await
    }

    /// Options: `pending`, `rollback`, `repo` (b); none given means all three.
    #[zbus(out_args("transaction"))]
    async fn cleanup(
        &self,
        options: HashMap<String, OwnedValue>,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        self.start(Request::Cleanup(cleanup_set(&options)?), server, conn)
            .await
    }

    /// What `Cleanup` with these options would remove and free; changes nothing.
    #[zbus(out_args("estimate"))]
    async fn estimate_cleanup(
        &self,
        options: HashMap<String, OwnedValue>,
    ) -> Result<CleanupEstimateRecord> {
        match self
            .query(Query::CleanupEstimate(cleanup_set(&options)?))
            .await?
        {
            Answer::CleanupEstimate(estimate) => Ok(estimate.into()),
            _ => unreachable!("the reader answers what it is asked"),
        }
    }

    #[zbus(out_args("transaction"))]
    async fn reboot(
        &self,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        self.start(Request::Reboot, server, conn).await
    }

    /// Checks and updates the system, then updates every app and runtime with an update: one
    /// transaction, one progress (the system 0–0.6, the apps 0.6–1). A failure of the system does
    /// not stop the apps; the Finished message says what happened to each.
    #[zbus(out_args("transaction"))]
    async fn update_all(
        &self,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        self.start(Request::UpdateAll, server, conn).await
    }

    /// Keeps the service running while the caller is connected (as rpm-ostreed's RegisterClient).
    async fn register_client(&self, #[zbus(header)] header: zbus::message::Header<'_>) {
        self.touch();
        if let Some(sender) = header.sender() {
            lock(&self.state).clients.insert(sender.to_string());
        }
    }

    async fn unregister_client(&self, #[zbus(header)] header: zbus::message::Header<'_>) {
        self.touch();
        if let Some(sender) = header.sender() {
            lock(&self.state).clients.remove(sender.as_str());
        }
    }

    /// The running transaction's object, or "/" when none runs.
    #[zbus(property)]
    async fn active_transaction(&self) -> OwnedObjectPath {
        lock(&self.state)
            .active
            .as_ref()
            .map(|a| a.path.clone())
            .unwrap_or_else(|| ObjectPath::from_static_str_unchecked("/").into())
    }

    /// The system changed (an operation here, or another program on the same sysroot).
    #[zbus(signal)]
    async fn status_changed(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
}

/// Cleanup's options: `pending`, `rollback`, `repo` (b); none given means all three.
fn cleanup_set(options: &HashMap<String, OwnedValue>) -> Result<CleanupSet> {
    let options = bool_options(options, &["pending", "rollback", "repo"])?;
    let all = options.is_empty();
    let get = |k: &str| all || options.get(k).copied().unwrap_or(false);
    Ok(CleanupSet {
        pending: get("pending"),
        rollback: get("rollback"),
        repo: get("repo"),
    })
}

/// Runs the service until it has been idle for the timeout.
pub fn serve(target: Target, options: Options) -> crate::Result<()> {
    zbus::block_on(serve_async(target, options))
}

async fn serve_async(target: Target, options: Options) -> crate::Result<()> {
    let (changed_tx, changed_rx) = async_channel::unbounded();
    let name = crate::dbus::bus_name(&target.path);
    let workers = Workers::start(target, options.installations.clone(), changed_tx)?;
    let state = Arc::new(Mutex::new(State {
        last_call: Some(Instant::now()),
        fail_progress_signals: options.fail_progress_signals,
        ..Default::default()
    }));
    let backend = Backend {
        workers,
        state: state.clone(),
    };
    let builder = match &options.address {
        Some(address) => zbus::connection::Builder::address(address.as_str()),
        None => zbus::connection::Builder::session(),
    }
    .map_err(bus_error)?;
    let apps = apps::Apps {
        backend: backend.clone(),
    };
    let conn = builder
        .serve_at(OBJECT_PATH, backend)
        .map_err(bus_error)?
        .serve_at(OBJECT_PATH, apps)
        .map_err(bus_error)?
        .name(name.as_str())
        .map_err(bus_error)?
        .build()
        .await
        .map_err(bus_error)?;
    tracing::info!(
        "serving {name} on {}",
        conn.unique_name()
            .map(|n| n.to_string())
            .unwrap_or_default()
    );

    // Announce changes made by anyone.
    let announcer = conn.clone();
    conn.executor()
        .spawn(
            async move {
                while let Ok(what) = changed_rx.recv().await {
                    let Ok(emitter) = SignalEmitter::new(&announcer, OBJECT_PATH) else {
                        continue;
                    };
                    let _ = match what {
                        Changed::System => Backend::status_changed(&emitter).await,
                        Changed::Apps => apps::Apps::apps_changed(&emitter).await,
                    };
                }
            },
            "keel-announcer",
        )
        .detach();

    let dbus = zbus::fdo::DBusProxy::new(&conn).await.map_err(bus_error)?;
    loop {
        async_io::Timer::after(Duration::from_secs(1)).await;
        let Some(timeout) = options.idle_timeout else {
            continue;
        };
        let (clients, busy, last) = {
            let s = lock(&state);
            (
                s.clients.iter().cloned().collect::<Vec<_>>(),
                s.active.is_some(),
                s.last_call,
            )
        };
        let mut alive = Vec::new();
        for client in clients {
            let Ok(name) = zbus::names::BusName::try_from(client.as_str()) else {
                continue;
            };
            if dbus.name_has_owner(name).await.unwrap_or(false) {
                alive.push(client);
            }
        }
        lock(&state).clients.retain(|c| alive.contains(c));
        let quiet = last.is_none_or(|t| t.elapsed() >= timeout);
        if !busy && alive.is_empty() && quiet {
            tracing::info!("idle for {timeout:?}; exiting");
            return Ok(());
        }
    }
}

fn bus_error(err: zbus::Error) -> Error {
    Error::Failed(fill(
        // Translators: {detail} is the D-Bus library's own (English) reason.
        &gettext("Could not serve on the message bus: {detail}"),
        &[("detail", &err.to_string())],
    ))
}
