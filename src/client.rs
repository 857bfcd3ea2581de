//! The UI's side of the backend: finds or starts `keel-backend serve`, reads the system, and runs
//! transactions, reporting their progress. Everything here is async and runs on the GLib main
//! context; zbus does its I/O on its own threads, so the main loop never waits.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gettextrs::gettext;
use keel_api::apps::App;
use keel_api::dbus::{self, Apps1Proxy, Backend1Proxy, TransactionProxy};
use keel_api::model::{AvailablePackage, CleanupEstimate, ConfigDiff, HistoryEntry, SystemStatus};
use keel_api::packages::PackageDiff;
use keel_api::{Operation as OperationKind, TransactionState};
use zbus::zvariant::Value;

use crate::error::UiError;

/// Which system the backend should show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Demo,
    Sysroot(PathBuf),
    System,
}

impl Target {
    /// The running OSTree system when there is one, else the demo.
    pub fn default_for_host() -> Self {
        if std::path::Path::new("/run/ostree-booted").exists() {
            Target::System
        } else {
            Target::Demo
        }
    }

    /// As text, to hand to the Keel already running (see `app.show-system`).
    pub fn to_arg(&self) -> String {
        match self {
            Target::Demo => "demo".to_owned(),
            Target::System => "system".to_owned(),
            Target::Sysroot(path) => format!("sysroot:{}", path.display()),
        }
    }

    pub fn from_arg(arg: &str) -> Option<Self> {
        match arg {
            "demo" => Some(Target::Demo),
            "system" => Some(Target::System),
            _ => arg
                .strip_prefix("sysroot:")
                .map(|path| Target::Sysroot(PathBuf::from(path))),
        }
    }

    /// The sysroot the backend opens for this target.
    fn sysroot(&self) -> PathBuf {
        match self {
            Target::Demo => dbus::demo_sysroot(&gtk::glib::user_data_dir()),
            Target::Sysroot(path) => path.clone(),
            Target::System => PathBuf::from("/"),
        }
    }

    fn backend_args(&self) -> Vec<String> {
        match self {
            Target::Demo => vec!["--demo".into()],
            Target::Sysroot(path) => vec!["--sysroot".into(), path.display().to_string()],
            Target::System => vec!["--system".into()],
        }
    }
}

/// Progress of a running transaction, as the UI shows it.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    pub fraction: f64,
    pub phase: String,
    pub message: String,
}

/// A client just connected, with the status it read first.
#[derive(Debug)]
pub struct Connected {
    pub client: Client,
    pub status: Option<SystemStatus>,
}

#[derive(Clone, Debug)]
pub struct Client {
    proxy: Backend1Proxy<'static>,
    /// The installed Flatpaks, on the same object as Backend1.
    apps: Apps1Proxy<'static>,
}

impl Client {
    /// Starts connecting at once, on a thread of its own: the bus handshake and the backend's start
    /// then overlap GTK's start-up instead of waiting for turns of a busy main loop. The system's
    /// status comes along, so the window's first frame can already show it.
    pub fn connect_in_background(
        target: &Target,
    ) -> async_channel::Receiver<Result<Connected, UiError>> {
        tracing::debug!("connecting to the backend for {}", target.to_arg());
        let (tx, rx) = async_channel::bounded(1);
        let target = target.clone();
        let on_failure = tx.clone();
        let spawned = std::thread::Builder::new()
            .name("keel-connect".into())
            .spawn(move || {
                let connected = async_io::block_on(async {
                    let client = Self::connect(&target).await?;
                    let status = client.status().await.ok();
                    Ok(Connected { client, status })
                });
                let _ = tx.send_blocking(connected);
            });
        if let Err(err) = spawned {
            let _ = on_failure.try_send(Err(UiError::new(
                gettext("Keel cannot reach its backend"),
                err.to_string(),
            )));
        }
        rx
    }

    /// Connects to the session bus and makes sure a backend serves the target there: one already
    /// running, one the bus starts (D-Bus activation, where installed), or `keel-backend serve`
    /// started detached (from beside this executable) so it outlives the window. Each system has a
    /// backend of its own (see [`dbus::bus_name`]).
    async fn connect(target: &Target) -> Result<Self, UiError> {
        let conn = zbus::Connection::session().await.map_err(UiError::bus)?;
        tracing::debug!("session bus connected");
        let dbus_proxy = zbus::fdo::DBusProxy::new(&conn)
            .await
            .map_err(UiError::bus)?;
        let name = dbus::bus_name(&target.sysroot());
        let bus_name =
            zbus::names::BusName::try_from(name.as_str()).map_err(|e| UiError::bus(e.into()))?;
        let has_owner = || async {
            dbus_proxy
                .name_has_owner(bus_name.clone())
                .await
                .unwrap_or(false)
        };
        // Subscribed before starting the backend, so its arrival cannot be missed.
        let mut arrivals = dbus_proxy
            .receive_name_owner_changed_with_args(&[(0, name.as_str())])
            .await
            .map_err(UiError::bus)?;
        if !has_owner().await && !activate(&dbus_proxy, &name).await {
            let mut child = spawn_backend(target)?;
            tracing::debug!("backend spawned");
            let started = Instant::now();
            loop {
                let tick = async_io::Timer::after(Duration::from_millis(100));
                let _ = futures_util::future::select(arrivals.next(), tick).await;
                if has_owner().await {
                    break;
                }
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(UiError::new(
                        gettext("The Keel backend stopped"),
                        // Translators: {} is how the program ended, e.g. "exit status: 1".
                        gettext(
                            "It ended ({}) before it was ready. Run “keel-backend status” in a terminal to see why.",
                        )
                        .replace("{}", &status.to_string()),
                    ));
                }
                if started.elapsed() > Duration::from_secs(60) {
                    return Err(UiError::new(
                        gettext("The Keel backend did not start"),
                        gettext("It did not appear on the session bus within a minute."),
                    ));
                }
            }
            // Reap it whenever it exits, so no zombie lingers while the window is open.
            std::thread::spawn(move || child.wait());
        }
        tracing::debug!("backend on the bus");
        let proxy = Backend1Proxy::builder(&conn)
            .destination(name.clone())
            .map_err(UiError::bus)?
            .build()
            .await
            .map_err(UiError::bus)?;
        let apps = Apps1Proxy::builder(&conn)
            .destination(name)
            .map_err(UiError::bus)?
            .build()
            .await
            .map_err(UiError::bus)?;
        proxy.register_client().await.map_err(UiError::from_call)?;
        Ok(Self { proxy, apps })
    }

    pub async fn status(&self) -> Result<SystemStatus, UiError> {
        let record = self.proxy.get_status().await.map_err(UiError::from_call)?;
        Ok(record.into())
    }

    pub async fn history(&self) -> Result<Vec<HistoryEntry>, UiError> {
        let list = self.proxy.get_history().await.map_err(UiError::from_call)?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    pub async fn diff(&self, from: &str, to: &str) -> Result<PackageDiff, UiError> {
        let record = self
            .proxy
            .get_diff(from, to)
            .await
            .map_err(UiError::from_call)?;
        Ok(record.into())
    }

    pub async fn config_diff(&self, deployment: &str) -> Result<ConfigDiff, UiError> {
        let record = self
            .proxy
            .get_config_diff(deployment)
            .await
            .map_err(UiError::from_call)?;
        Ok(record.into())
    }

    /// What a cleanup of all it may remove would remove and free.
    pub async fn estimate_cleanup(&self) -> Result<CleanupEstimate, UiError> {
        let record = self
            .proxy
            .estimate_cleanup(HashMap::new())
            .await
            .map_err(UiError::from_call)?;
        Ok(record.into())
    }

    pub async fn available_packages(&self) -> Result<Vec<AvailablePackage>, UiError> {
        let list = self
            .proxy
            .list_packages()
            .await
            .map_err(UiError::from_call)?;
        Ok(list.into_iter().map(AvailablePackage::from).collect())
    }

    /// Calls `changed` whenever the system changes (here or by another program), from the moment
    /// this returns (subscribe before reading, and no change in between is lost), until `changed`
    /// returns false.
    pub async fn watch(&self, changed: impl Fn() -> bool + 'static) {
        let Ok(mut stream) = self.proxy.receive_status_changed().await else {
            return;
        };
        gtk::glib::spawn_future_local(async move {
            while stream.next().await.is_some() && changed() {}
        });
    }

    /// The installed Flatpaks, apps and runtimes (read from disk by the backend: quick).
    pub async fn apps(&self) -> Result<Vec<App>, UiError> {
        let list = self.apps.list_apps().await.map_err(UiError::from_call)?;
        Ok(list.into_iter().map(App::from).collect())
    }

    /// Calls `changed` whenever the installed Flatpaks change (by Keel or by another program), as
    /// [`Client::watch`] does for the system.
    pub async fn watch_apps(&self, changed: impl Fn() -> bool + 'static) {
        let Ok(mut stream) = self.apps.receive_apps_changed().await else {
            return;
        };
        gtk::glib::spawn_future_local(async move {
            while stream.next().await.is_some() && changed() {}
        });
    }

    /// The running transaction, if any (for a window opened in the middle of one).
    pub async fn active_transaction(&self) -> Option<zbus::zvariant::OwnedObjectPath> {
        self.proxy
            .active_transaction()
            .await
            .ok()
            .filter(|p| p.as_str() != "/")
    }

    pub async fn start(&self, op: Operation) -> Result<zbus::zvariant::OwnedObjectPath, UiError> {
        let p = &self.proxy;
        let result = match &op {
            Operation::Check => p.check().await,
            Operation::Update => p.update(HashMap::new()).await,
            Operation::Rollback(target) => p.rollback(target).await,
            Operation::Pin(id) => p.pin(id).await,
            Operation::Unpin(id) => p.unpin(id).await,
            Operation::Remove(id) => p.remove(id).await,
            Operation::Install(names) => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                p.install_packages(&names).await
            }
            Operation::Uninstall(names) => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                p.uninstall_packages(&names).await
            }
            Operation::ResetPackages => p.reset_packages().await,
            Operation::Cleanup { pending, rollback } => {
                let options: HashMap<&str, Value> = [
                    ("pending", Value::from(*pending)),
                    ("rollback", Value::from(*rollback)),
                    ("repo", Value::from(true)),
                ]
                .into_iter()
                .collect();
                p.cleanup(options).await
            }
            Operation::Reboot => p.reboot().await,
            Operation::UpdateAll => p.update_all().await,
            Operation::AppsCheck => self.apps.check_apps().await,
            Operation::AppsUpdate(keys) => {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                self.apps.update_apps(&keys).await
            }
            Operation::AppsUninstall { keys, delete_data } => {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                let options: HashMap<&str, Value> =
                    [("delete-data", Value::from(*delete_data))].into();
                self.apps.uninstall_apps(&keys, options).await
            }
            Operation::AppsRemoveUnused => self.apps.remove_unused_apps().await,
        };
        result.map_err(UiError::from_call)
    }

    /// Follows a transaction to its end, reporting progress; Ok(message) on success.
    pub async fn follow(
        &self,
        path: zbus::zvariant::OwnedObjectPath,
        progress: impl Fn(Progress),
    ) -> Result<String, UiError> {
        let tx = self.transaction(path).await?;
        let updates = tx.receive_progress().await.map_err(UiError::bus)?;
        let finished = tx.receive_finished().await.map_err(UiError::bus)?;
        // It may have ended before we subscribed.
        if tx.state().await.map_err(UiError::bus)?.is_finished() {
            return finished_result(&tx).await;
        }
        progress(Progress {
            fraction: tx.fraction().await.unwrap_or(0.0),
            phase: tx.phase().await.unwrap_or_default(),
            message: tx.message().await.unwrap_or_default(),
        });
        enum Event {
            Progress(Progress),
            Finished(Option<(bool, String, String)>),
        }
        let updates = updates.map(|u| {
            Event::Progress(
                u.args()
                    .map(|a| Progress {
                        fraction: a.fraction,
                        phase: a.phase.clone(),
                        message: a.message.clone(),
                    })
                    .unwrap_or_default(),
            )
        });
        let ends = finished.map(|f| {
            Event::Finished(
                f.args()
                    .ok()
                    .map(|a| (a.success, a.error_name.clone(), a.message.clone())),
            )
        });
        let mut events = futures_util::stream::select(updates, ends);
        while let Some(event) = events.next().await {
            match event {
                Event::Progress(update) => progress(update),
                Event::Finished(Some((true, _, message))) => return Ok(message),
                Event::Finished(Some((false, name, message))) => {
                    return Err(UiError::from_parts(&name, &message));
                }
                Event::Finished(None) => break,
            }
        }
        finished_result(&tx).await
    }

    pub async fn cancel(&self, path: zbus::zvariant::OwnedObjectPath) -> Result<(), UiError> {
        self.transaction(path)
            .await?
            .cancel()
            .await
            .map_err(UiError::from_call)
    }

    /// What a transaction does (see the API's Operation property).
    pub async fn operation(&self, path: zbus::zvariant::OwnedObjectPath) -> Option<OperationKind> {
        self.transaction(path).await.ok()?.operation().await.ok()
    }

    /// A transaction's object, its properties read fresh each time (they change as it runs).
    async fn transaction(
        &self,
        path: zbus::zvariant::OwnedObjectPath,
    ) -> Result<TransactionProxy<'static>, UiError> {
        TransactionProxy::builder(self.proxy.inner().connection())
            .destination(self.proxy.inner().destination().to_owned())
            .map_err(UiError::bus)?
            .path(path)
            .map_err(UiError::bus)?
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .map_err(UiError::bus)
    }
}

async fn finished_result(tx: &TransactionProxy<'_>) -> Result<String, UiError> {
    if tx.state().await.map_err(UiError::bus)? == TransactionState::Succeeded {
        Ok(tx.message().await.unwrap_or_default())
    } else {
        let name = tx.error_name().await.unwrap_or_default();
        let message = tx.error_message().await.unwrap_or_default();
        Err(UiError::from_parts(&name, &message))
    }
}

/// A mutation the UI can ask for, with its arguments (the request; the transaction that runs it
/// says which [`keel_api::Operation`] it is).
#[derive(Clone, Debug)]
pub enum Operation {
    Check,
    Update,
    Rollback(String),
    Pin(String),
    Unpin(String),
    Remove(String),
    Install(Vec<String>),
    Uninstall(Vec<String>),
    ResetPackages,
    Cleanup {
        pending: bool,
        rollback: bool,
    },
    Reboot,
    /// The OS, then every app with an update: one transaction.
    UpdateAll,
    AppsCheck,
    /// Keys (`INSTALLATION:REF`); empty: every app and runtime with an update.
    AppsUpdate(Vec<String>),
    /// `delete_data`: also the apps' data in the person's home folder.
    AppsUninstall {
        keys: Vec<String>,
        delete_data: bool,
    },
    AppsRemoveUnused,
}

/// Asks the bus to start the backend, when it is installed for D-Bus activation (as in the Flatpak);
/// true once it runs.
async fn activate(dbus_proxy: &zbus::fdo::DBusProxy<'_>, name: &str) -> bool {
    let installed = dbus_proxy
        .list_activatable_names()
        .await
        .is_ok_and(|names| names.iter().any(|n| n.as_str() == name));
    if !installed {
        return false;
    }
    let Ok(well_known) = zbus::names::WellKnownName::try_from(name) else {
        return false;
    };
    match dbus_proxy.start_service_by_name(well_known, 0).await {
        Ok(_) => {
            tracing::debug!("backend started by D-Bus activation");
            true
        }
        Err(err) => {
            tracing::warn!("D-Bus activation of {name} failed ({err}); starting it directly");
            false
        }
    }
}

/// Starts `keel-backend serve` from beside this executable (or from PATH), in its own process
/// group so closing the window never stops a transaction.
fn spawn_backend(target: &Target) -> Result<std::process::Child, UiError> {
    use std::os::unix::process::CommandExt;
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("keel-backend")))
        .filter(|path| path.exists());
    let program = beside.unwrap_or_else(|| PathBuf::from("keel-backend"));
    std::process::Command::new(&program)
        .args(target.backend_args())
        .arg("serve")
        .stdin(std::process::Stdio::null())
        // A daemon that outlives the window must not hold the window's output open.
        .stdout(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|err| {
            UiError::new(
                gettext("The Keel backend could not be started"),
                format!("{}: {err}", program.display()),
            )
        })
}
