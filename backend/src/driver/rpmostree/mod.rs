//! The driver for Fedora Atomic hosts, where the system belongs to rpm-ostreed: Keel is its client
//! and never goes around it.
//!
//! Reads go over the system bus everywhere (a Flatpak may talk to rpm-ostreed there). Changes take
//! one of two routes ([`Route`]): on the host, rpm-ostreed's own transactions (`host.rs`); inside
//! the Flatpak sandbox, whose `/run` hides the transaction socket, the `rpm-ostree` command run on
//! the host through `flatpak-spawn --host` (`sandbox.rs`). Pinning and removing, which rpm-ostreed
//! does not offer, are `ostree admin` through pkexec (`admin.rs`).

mod admin;
mod commits;
mod host;
mod ops;
pub mod proxy;
mod sandbox;
mod status;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use zbus::blocking::Connection;
use zbus::zvariant::Value;

use self::proxy::{BUS_NAME, OSProxy, Options, SysrootProxy};
use super::{CleanupSet, SystemDriver};
use crate::error::{Error, Result};
use crate::history;
use crate::model::{
    AvailablePackage, Capabilities, CleanupEstimate, ConfigDiff, HistoryEntry, SystemStatus,
};
use crate::packages::{Package, PackageDiff};
use keel_api::i18n::{fill, gettext};

/// How this process changes the system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// rpm-ostreed's transactions over its peer-to-peer socket.
    Host,
    /// `flatpak-spawn --host rpm-ostree …`.
    Sandbox,
}

impl Route {
    /// The sandbox when `/.flatpak-info` exists. Tests set `KEEL_RPMOSTREE_ROUTE` to `host` or
    /// `sandbox` (a test hook: a test runs outside any sandbox).
    pub fn detect() -> Self {
        match std::env::var("KEEL_RPMOSTREE_ROUTE").as_deref() {
            Ok("sandbox") => Route::Sandbox,
            Ok("host") => Route::Host,
            _ if Path::new("/.flatpak-info").exists() => Route::Sandbox,
            _ => Route::Host,
        }
    }
}

/// Whether rpm-ostreed runs on the system bus, or would start when called. A service asks once
/// (`driver::Kind::of`), so its threads never pick different drivers while rpm-ostreed restarts.
pub fn available() -> bool {
    let Ok(conn) = Connection::system() else {
        return false;
    };
    let Ok(dbus) = zbus::blocking::fdo::DBusProxy::new(&conn) else {
        return false;
    };
    let name = zbus::names::BusName::try_from(BUS_NAME).expect("a valid name");
    dbus.name_has_owner(name).unwrap_or(false)
        || dbus
            .list_activatable_names()
            .is_ok_and(|names| names.iter().any(|n| n.as_str() == BUS_NAME))
}

pub struct RpmOstreeDriver {
    sysroot: SysrootProxy<'static>,
    os: OSProxy<'static>,
    path: PathBuf,
    route: Route,
    /// Bumped by every change rpm-ostreed announces and by its restarts (`watch.rs`).
    generation: Arc<AtomicU64>,
    /// The generation the last `reload` reported.
    seen: AtomicU64,
    /// The last status and the generation it was read at: unchanged, it is answered from here.
    last: Mutex<Option<(u64, SystemStatus)>>,
    packages: commits::PackageLists,
    history_path: PathBuf,
}

impl RpmOstreeDriver {
    pub fn open() -> Result<Self> {
        let conn = Connection::system().map_err(unreachable_daemon)?;
        let generation = Arc::new(AtomicU64::new(0));
        watch::start(&conn, generation.clone())?;
        let sysroot = SysrootProxy::builder(&conn)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .map_err(unreachable_daemon)?;
        let path = PathBuf::from(while_restarting(|| sysroot.path())?);
        let mut booted = while_restarting(|| sysroot.booted())?;
        if booted.as_str() == "/" {
            booted = while_restarting(|| sysroot.get_os(""))?;
        }
        let os = OSProxy::builder(&conn)
            .path(booted)
            .map_err(unreachable_daemon)?
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .map_err(unreachable_daemon)?;
        watch::register(&sysroot);
        let route = Route::detect();
        tracing::info!(
            "rpm-ostree driver on {} (changes by the {route:?} route)",
            path.display()
        );
        Ok(Self {
            packages: commits::PackageLists::new(&path),
            history_path: history_path(&path),
            seen: AtomicU64::new(generation.load(Ordering::SeqCst)),
            generation,
            last: Mutex::new(None),
            sysroot,
            os,
            path,
            route,
        })
    }

    fn read_status(&self) -> Result<SystemStatus> {
        let list = self.sysroot.deployments().map_err(bus_error)?;
        let mut deployments = status::deployments(&list);
        for d in &mut deployments {
            d.package_count = self.packages.count(&d.checksum);
        }
        let mut cached_update = status::cached_update(&self.os.cached_update().map_err(bus_error)?);
        // rpm-ostreed keeps its cached update after staging it; Keel shows what still waits on the
        // server only.
        let base =
            |d: &crate::model::Deployment| d.base_checksum.clone().unwrap_or(d.checksum.clone());
        if let Some(u) = &cached_update
            && deployments
                .iter()
                .any(|d| (d.booted || d.pending) && base(d) == u.checksum)
        {
            cached_update = None;
        }
        if let Some(u) = &mut cached_update {
            u.downloaded = self.packages.count(&u.checksum) > 0;
        }
        let os_name = deployments
            .iter()
            .find(|d| d.booted)
            .and_then(|d| self.os_release_name(d))
            .unwrap_or_else(|| self.os.name().unwrap_or_default());
        let mut status = SystemStatus {
            driver: "rpm-ostree".to_owned(),
            os_name,
            sysroot: self.path.display().to_string(),
            demo: false,
            booted_emulated: false,
            deployments,
            cached_update,
            capabilities: Capabilities {
                can_layer: true,
                can_pin: true,
                can_config_diff: false,
                can_cleanup: true,
                update_needs_restart: true,
                can_reboot: true,
            },
            rollback_target: None,
            pending_update: None,
            history_mark: 0,
        };
        status.rollback_target = super::rollback_target(&status).map(|d| d.id.clone());
        status.pending_update = super::pending_update(&status).map(|d| d.id.clone());
        Ok(status)
    }

    fn os_release_name(&self, d: &crate::model::Deployment) -> Option<String> {
        let dir = self.path.join(format!(
            "ostree/deploy/{}/deploy/{}.{}",
            d.osname, d.checksum, d.serial
        ));
        let text = std::fs::read_to_string(dir.join("usr/lib/os-release")).ok()?;
        text.lines().find_map(|line| {
            line.strip_prefix("NAME=")
                .map(|v| v.trim_matches('"').to_owned())
        })
    }

    /// Asks rpm-ostreed to read the sysroot again and forgets the last status, after a change.
    fn refresh(&self) {
        if let Err(err) = self.sysroot.reload() {
            tracing::warn!("rpm-ostreed could not reload: {err}");
        }
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// Retries a first call for a few seconds while rpm-ostreed is away (restarting, or between its idle
/// exit and its next start), so a driver opened just then still opens.
fn while_restarting<T>(mut call: impl FnMut() -> zbus::Result<T>) -> Result<T> {
    const AWAY: [&str; 3] = [
        "org.freedesktop.DBus.Error.ServiceUnknown",
        "org.freedesktop.DBus.Error.NameHasNoOwner",
        "org.freedesktop.DBus.Error.NoReply",
    ];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match call() {
            Ok(value) => return Ok(value),
            Err(err)
                if std::time::Instant::now() < deadline
                    && error_name(&err).is_some_and(|n| AWAY.contains(&n.as_str())) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(err) => return Err(unreachable_daemon(err)),
        }
    }
}

/// A D-Bus error's name, whether zbus reports it as a method's error or a standard one (property
/// reads do).
fn error_name(err: &zbus::Error) -> Option<String> {
    use zbus::DBusError;
    match err {
        zbus::Error::MethodError(name, ..) => Some(name.to_string()),
        zbus::Error::FDO(fdo) => Some(fdo.name().to_string()),
        _ => None,
    }
}

/// Keel's history of what it did here, in the user's state folder (the sysroot is rpm-ostreed's).
fn history_path(sysroot: &Path) -> PathBuf {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    // One journal per system: the name of the backend that serves it is unique to its path.
    let name = keel_api::dbus::bus_name(sysroot);
    state.join("keel").join(name).join(history::FILE_NAME)
}

/// rpm-ostreed is not on the system bus.
fn unreachable_daemon(err: impl std::fmt::Display) -> Error {
    Error::Failed(fill(
        // Translators: {detail} is the D-Bus library's own (English) reason.
        &gettext(
            "rpm-ostreed cannot be reached on the system bus ({detail}); check that it runs with `systemctl status rpm-ostreed`.",
        ),
        &[("detail", &err.to_string())],
    ))
}

/// A D-Bus error from rpm-ostreed as Keel's kinds; the `Busy` case needs the running transaction
/// and is handled where a transaction is asked for.
fn bus_error(err: zbus::Error) -> Error {
    match &err {
        zbus::Error::MethodError(name, message, _) => {
            let detail = message.clone().unwrap_or_else(|| name.to_string());
            let name = name.as_str();
            if is_refusal(name, &detail) {
                Error::PermissionDenied(detail)
            } else if name.ends_with(".Code0") && detail.contains("not found") {
                Error::NotFound(detail)
            } else if name.starts_with("org.freedesktop.DBus.Error.ServiceUnknown")
                || name.starts_with("org.freedesktop.DBus.Error.NameHasNoOwner")
                || name.starts_with("org.freedesktop.DBus.Error.NoReply")
            {
                unreachable_daemon(detail)
            } else {
                Error::Failed(fill(
                    // Translators: {detail} is rpm-ostreed's own (English) reason.
                    &gettext("rpm-ostreed refused: {detail}"),
                    &[("detail", &detail)],
                ))
            }
        }
        _ => unreachable_daemon(err),
    }
}

/// Whether an error is polkit's (or the bus's) refusal.
fn is_refusal(name: &str, detail: &str) -> bool {
    name == "org.freedesktop.DBus.Error.AccessDenied"
        || name.ends_with("NotAuthorized")
        || name.ends_with("InteractiveAuthorizationRequired")
        || detail.contains("not allowed for user")
}

impl SystemDriver for RpmOstreeDriver {
    fn reload(&self) -> Result<bool> {
        let now = self.generation.load(Ordering::SeqCst);
        Ok(self.seen.swap(now, Ordering::SeqCst) != now)
    }

    fn status(&self) -> Result<SystemStatus> {
        let generation = self.generation.load(Ordering::SeqCst);
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let mut status = match &*last {
            Some((g, status)) if *g == generation => status.clone(),
            _ => {
                let status = self.read_status()?;
                *last = Some((generation, status.clone()));
                status
            }
        };
        status.history_mark = history::mark(&self.history_path);
        Ok(status)
    }

    fn diff(&self, from: &str, to: &str) -> Result<PackageDiff> {
        let status = self.status()?;
        let from = super::resolve(&status, from)?;
        let to = super::resolve(&status, to)?;
        let entries = self
            .os
            .get_deployments_rpm_diff(&from.id, &to.id)
            .map_err(bus_error)?;
        Ok(status::deployments_diff(&entries))
    }

    fn packages(&self, deployment: &str) -> Result<Vec<Package>> {
        let status = self.status()?;
        let checksum = match status.find(deployment) {
            Some(d) => d.checksum.clone(),
            None if deployment.len() == 64 && deployment.chars().all(|c| c.is_ascii_hexdigit()) => {
                deployment.to_owned()
            }
            None => super::resolve(&status, deployment)?.checksum.clone(),
        };
        Ok(self.packages.get(&checksum)?.to_vec())
    }

    fn config_diff(&self, _deployment: &str) -> Result<ConfigDiff> {
        Err(Error::Failed(gettext(
            "Keel cannot compare /etc on an rpm-ostree system yet; run `sudo ostree admin config-diff` instead.",
        )))
    }

    fn history(&self) -> Result<Vec<HistoryEntry>> {
        history::read(&self.history_path)
    }

    fn record(&self, entry: &HistoryEntry) -> Result<()> {
        history::append(&self.history_path, entry)
    }

    fn available_packages(&self) -> Result<Vec<AvailablePackage>> {
        let found = self.os.search(&[""]).map_err(bus_error)?;
        let mut list: Vec<AvailablePackage> = found
            .iter()
            .map(|p| {
                let keys = status::Keys(p);
                AvailablePackage {
                    name: keys.text("name").unwrap_or_default(),
                    evr: keys.text("evr").unwrap_or_default(),
                    arch: keys.text("arch").unwrap_or_default(),
                    summary: keys.text("summary").unwrap_or_default(),
                }
            })
            .filter(|p| !p.name.is_empty())
            .collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list.dedup_by(|a, b| a.name == b.name && a.arch == b.arch);
        Ok(list)
    }

    fn cleanup_estimate(&self, what: CleanupSet) -> Result<CleanupEstimate> {
        let status = self.status()?;
        let deployments = status
            .deployments
            .iter()
            .filter(|d| !d.booted && !d.pinned)
            .filter(|d| (what.pending && d.pending) || (what.rollback && d.rollback))
            .map(|d| d.id.clone())
            .collect();
        // rpm-ostreed does not say beforehand how much a cleanup frees.
        Ok(CleanupEstimate {
            deployments,
            bytes: 0,
        })
    }

    fn check(
        &self,
        phases: &crate::progress::Phases,
        cancel: &super::Cancel,
    ) -> Result<Option<crate::model::Update>> {
        self.perform(ops::Op::Check, phases, cancel)?;
        Ok(self.status()?.cached_update)
    }

    fn update(
        &self,
        download_only: bool,
        phases: &crate::progress::Phases,
        cancel: &super::Cancel,
    ) -> Result<super::UpdateOutcome> {
        self.update_op(download_only, phases, cancel)
    }

    fn rollback(
        &self,
        target: Option<&str>,
        phases: &crate::progress::Phases,
    ) -> Result<crate::model::Deployment> {
        self.rollback_op(target, phases)
    }

    fn set_pinned(&self, deployment: &str, pinned: bool) -> Result<crate::model::Deployment> {
        self.pin_op(deployment, pinned)
    }

    fn remove(&self, deployment: &str, _cancel: &super::Cancel) -> Result<u64> {
        self.remove_op(deployment)
    }

    fn cleanup(&self, what: CleanupSet, cancel: &super::Cancel) -> Result<u64> {
        self.cleanup_op(what, cancel)
    }

    fn install(
        &self,
        packages: &[String],
        phases: &crate::progress::Phases,
        cancel: &super::Cancel,
    ) -> Result<String> {
        self.layering_op(ops::Op::Install(packages.to_vec()), phases, cancel)
    }

    fn uninstall(
        &self,
        packages: &[String],
        phases: &crate::progress::Phases,
        cancel: &super::Cancel,
    ) -> Result<String> {
        self.layering_op(ops::Op::Uninstall(packages.to_vec()), phases, cancel)
    }

    fn reset_packages(
        &self,
        phases: &crate::progress::Phases,
        cancel: &super::Cancel,
    ) -> Result<String> {
        self.layering_op(ops::Op::Reset, phases, cancel)
    }

    fn reboot(&self) -> Result<super::Restart> {
        let next = self
            .status()?
            .deployments
            .into_iter()
            .next()
            .ok_or_else(|| Error::NotFound(gettext("There is no deployment to restart into.")))?;
        super::logind::reboot()?;
        Ok(super::Restart::Requested(next))
    }
}

impl Drop for RpmOstreeDriver {
    fn drop(&mut self) {
        let _ = self.sysroot.unregister_client(Options::new());
    }
}

/// `{"key": value}` options.
fn options<'a>(pairs: &[(&'a str, Value<'a>)]) -> Options<'a> {
    pairs
        .iter()
        .map(|(k, v)| (*k, v.try_clone().expect("no fds")))
        .collect()
}
