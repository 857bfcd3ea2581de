//! System drivers: one trait for everything Keel reads from and does to a system, so the service,
//! its worker threads and the command line never care which engine does the work.
//!
//! `ostree/` performs every operation itself with libostree (the demo, test sysroots, plain OSTree
//! hosts); `rpmostree/` is a client of rpm-ostreed (Fedora Atomic hosts). [`open`] picks the driver
//! for a target.

mod logind;
pub mod ostree;
pub mod rpmostree;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::model::{
    AvailablePackage, CleanupEstimate, ConfigDiff, Deployment, HistoryEntry, SystemStatus, Update,
};
use crate::packages::{Package, PackageDiff};
use crate::progress::Phases;
use keel_api::i18n::{fill, gettext};

/// What Keel can read and do on one system. Deployments are named as [`resolve`] accepts them.
///
/// Every mutation takes the system's lock for its whole length, records itself in the history and
/// changes nothing when it fails.
pub trait SystemDriver: Send + Sync {
    /// Re-reads what another program may have changed; true when the deployments changed.
    fn reload(&self) -> Result<bool>;
    /// Deployments in boot order, the update waiting, what the driver can do.
    fn status(&self) -> Result<SystemStatus>;
    /// Packages that differ between two deployments.
    fn diff(&self, from: &str, to: &str) -> Result<PackageDiff>;
    /// Every package of a deployment, or of a commit given by its checksum.
    fn packages(&self, deployment: &str) -> Result<Vec<Package>>;
    /// A deployment's local changes to `/etc` against its image's defaults.
    fn config_diff(&self, deployment: &str) -> Result<ConfigDiff>;
    /// Past operations, oldest first.
    fn history(&self) -> Result<Vec<HistoryEntry>>;
    /// Adds an operation done beside the driver (on the Flatpak apps, Update All) to the same
    /// history, so one journal tells everything done to the workstation.
    fn record(&self, entry: &HistoryEntry) -> Result<()>;
    /// Packages the package source offers for layering (may download the source's index).
    fn available_packages(&self) -> Result<Vec<AvailablePackage>>;
    /// What [`SystemDriver::cleanup`] would remove and free, without changing anything.
    fn cleanup_estimate(&self, what: CleanupSet) -> Result<CleanupEstimate>;

    /// Asks the remote for a newer version (commit metadata only).
    fn check(&self, phases: &Phases, cancel: &Cancel) -> Result<Option<Update>>;
    /// Downloads the newest version and, unless `download_only`, deploys it to boot next.
    fn update(
        &self,
        download_only: bool,
        phases: &Phases,
        cancel: &Cancel,
    ) -> Result<UpdateOutcome>;
    /// Makes a deployment boot next (the rollback deployment when `target` is None).
    fn rollback(&self, target: Option<&str>, phases: &Phases) -> Result<Deployment>;
    fn set_pinned(&self, deployment: &str, pinned: bool) -> Result<Deployment>;
    /// Removes one deployment that is neither booted nor pinned; returns the bytes freed.
    fn remove(&self, deployment: &str, cancel: &Cancel) -> Result<u64>;
    /// Removes pending and/or rollback deployments and prunes; returns the bytes freed.
    fn cleanup(&self, what: CleanupSet, cancel: &Cancel) -> Result<u64>;
    /// Layers packages; returns the id of the new deployment.
    fn install(&self, packages: &[String], phases: &Phases, cancel: &Cancel) -> Result<String>;
    fn uninstall(&self, packages: &[String], phases: &Phases, cancel: &Cancel) -> Result<String>;
    fn reset_packages(&self, phases: &Phases, cancel: &Cancel) -> Result<String>;
    /// Restarts into the next-boot deployment: for real on the running system, simulated on the
    /// demo and on any sysroot that is not the running system.
    fn reboot(&self) -> Result<Restart>;
}

/// Which system to open, and whether it is Keel's demo.
#[derive(Clone, Debug)]
pub struct Target {
    pub path: PathBuf,
    pub demo: bool,
}

/// Which driver serves a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Keel's own, with libostree.
    Ostree,
    /// rpm-ostreed's client.
    RpmOstree,
}

impl Kind {
    /// On the running system (`/`) rpm-ostreed's client when rpm-ostreed is on the system bus,
    /// else Keel's own libostree driver. A service decides this once: rpm-ostreed restarting must
    /// not turn it into the other driver for a moment.
    pub fn of(target: &Target) -> Kind {
        if !target.demo && target.path == std::path::Path::new("/") && rpmostree::available() {
            Kind::RpmOstree
        } else {
            Kind::Ostree
        }
    }
}

/// Opens the driver for `target` (see [`Kind::of`]).
pub fn open(target: &Target) -> Result<Box<dyn SystemDriver>> {
    open_as(target, Kind::of(target))
}

/// Opens the driver of a kind decided before.
pub fn open_as(target: &Target, kind: Kind) -> Result<Box<dyn SystemDriver>> {
    match kind {
        Kind::RpmOstree => Ok(Box::new(rpmostree::RpmOstreeDriver::open()?)),
        Kind::Ostree => Ok(Box::new(self::ostree::OstreeDriver::open(
            &target.path,
            target.demo,
        )?)),
    }
}

/// What `update` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    UpToDate,
    Downloaded { version: Option<String> },
    Deployed { id: String, version: Option<String> },
}

impl UpdateOutcome {
    /// A sentence for people.
    pub fn message(&self) -> String {
        let version = |v: &Option<String>| {
            // Translators: stands for {version} in the two sentences after it when the update
            // has no version number.
            v.clone().unwrap_or_else(|| gettext("The update"))
        };
        let with = |template: String, v| fill(&template, &[("version", &version(v))]);
        match self {
            UpdateOutcome::UpToDate => gettext("The system is up to date."),
            UpdateOutcome::Downloaded { version: v } => with(
                // Translators: {version} is a version ("41.20261125.0") or "The update".
                gettext("{version} is downloaded; update again to deploy it."),
                v,
            ),
            UpdateOutcome::Deployed { version: v, .. } => with(
                // Translators: {version} is a version ("41.20261125.0") or "The update".
                gettext("{version} is deployed; it boots after a restart."),
                v,
            ),
        }
    }
}

/// What `reboot` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Restart {
    /// The computer is restarting; this deployment boots.
    Requested(Deployment),
    /// The restart was simulated (the demo, a sysroot that is not the running system): this
    /// deployment is now the booted one.
    Simulated(Deployment),
}

impl Restart {
    /// A sentence for people; only a simulated restart says it is one.
    pub fn message(&self) -> String {
        match self {
            Restart::Requested(d) => fill(
                // Translators: {deployment} is a version ("41.20261125.0") or a checksum.
                &gettext("Restarting the computer into {deployment}."),
                &[("deployment", &name(d))],
            ),
            Restart::Simulated(d) => fill(
                // Translators: the demo's restarts are simulated; {deployment} is a version
                // ("41.20261125.0") or a checksum.
                &gettext("Restarted (simulated); {deployment} is booted."),
                &[("deployment", &name(d))],
            ),
        }
    }

    pub fn deployment(&self) -> &Deployment {
        match self {
            Restart::Requested(d) | Restart::Simulated(d) => d,
        }
    }
}

/// A deployment as people name it: its version, else its short checksum.
pub fn name(d: &Deployment) -> String {
    d.version.clone().unwrap_or(d.short_checksum().to_owned())
}

/// Which deployments `cleanup` removes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanupSet {
    pub pending: bool,
    pub rollback: bool,
    pub repo: bool,
}

/// A request to stop a running operation, shared by whoever may ask and the operation; each
/// driver hands it on to its own mechanism (a `GCancellable`, a D-Bus `Cancel` call…).
#[derive(Clone, Default)]
pub struct Cancel(Arc<CancelState>);

type Hook = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct CancelState {
    cancelled: AtomicBool,
    hooks: Mutex<Vec<Hook>>,
}

impl Cancel {
    pub fn cancel(&self) {
        let hooks = {
            let mut hooks = self.0.hooks.lock().unwrap_or_else(|e| e.into_inner());
            self.0.cancelled.store(true, Ordering::SeqCst);
            std::mem::take(&mut *hooks)
        };
        // Outside the lock: a hook may itself ask this Cancel something.
        for hook in hooks {
            hook();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Runs `hook` when the operation is cancelled, or at once when it already is.
    pub fn on_cancel(&self, hook: impl FnOnce() + Send + 'static) {
        let mut hooks = self.0.hooks.lock().unwrap_or_else(|e| e.into_inner());
        if self.is_cancelled() {
            drop(hooks);
            hook();
        } else {
            hooks.push(Box::new(hook));
        }
    }
}
/// A deployment by index, id, or one of the words `booted`, `pending`, `rollback`.
pub fn resolve<'s>(status: &'s SystemStatus, spec: &str) -> Result<&'s Deployment> {
    status.find(spec).ok_or_else(|| {
        Error::NotFound(fill(
            // Translators: {spec} is what was asked for, {last} the last index; keep
            // `keel-backend status` and the words booted, pending and rollback as they are.
            &gettext(
                "There is no deployment “{spec}”. Give an index from 0 to {last}, an id as `keel-backend status` shows it, or booted, pending or rollback.",
            ),
            &[
                ("spec", spec),
                ("last", &status.deployments.len().saturating_sub(1).to_string()),
            ],
        ))
    })
}

/// Package names as rpm allows them; anything else (paths, shell characters) is refused early.
pub fn validate_package_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && !name.starts_with(['-', '.'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(fill(
            // Translators: {name} is what was given as a package name.
            &gettext("“{name}” is not a package name: use letters, digits and . _ + - only."),
            &[("name", name)],
        )))
    }
}

/// The deployment "Roll Back" boots when none is named, as rpm-ostree chooses it: the rollback
/// deployment, or, when only a pending one exists, the booted one back on top. None when that
/// deployment already boots next or there is none.
pub fn rollback_target(status: &SystemStatus) -> Option<&Deployment> {
    let list = &status.deployments;
    let booted = status.booted()?;
    list.iter()
        .find(|d| d.rollback)
        .or_else(|| list.iter().any(|d| d.pending).then_some(booted))
        .filter(|d| d.index != 0)
}

/// The deployment an update made, waiting for the next boot: first in boot order, pending, of
/// another base version than the booted one (a new layer on the same version is no update) and
/// newer (after a rollback an older one boots next).
pub fn pending_update(status: &SystemStatus) -> Option<&Deployment> {
    let next = status.deployments.first().filter(|d| d.pending)?;
    let version = |d: &Deployment| d.base_version.clone().or_else(|| d.version.clone());
    let booted = status.booted()?;
    (version(next) != version(booted) && next.timestamp > booted.timestamp).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deployments in boot order as (version, booted, pending); version "41.N" is made on day N.
    fn status(list: &[(&str, bool, bool)]) -> SystemStatus {
        let deployments = list
            .iter()
            .enumerate()
            .map(|(index, &(version, booted, pending))| Deployment {
                id: index.to_string(),
                index: index as u32,
                timestamp: version.rsplit('.').next().unwrap().parse::<u64>().unwrap() * 86_400,
                version: Some(version.to_owned()),
                booted,
                pending,
                ..Default::default()
            })
            .collect();
        SystemStatus {
            deployments,
            ..Default::default()
        }
    }

    #[test]
    fn only_a_newer_version_booting_next_is_a_pending_update() {
        let updated = status(&[("41.3", false, true), ("41.2", true, false)]);
        assert_eq!(pending_update(&updated).map(|d| d.index), Some(0));
        let booted_first = status(&[("41.2", true, false), ("41.1", false, false)]);
        // A package layered on the same version waits for a restart, but is no update.
        let layered = status(&[("41.2", false, true), ("41.2", true, false)]);
        // After a rollback the older deployment boots next: no update either.
        let rolled_back = status(&[("41.1", false, true), ("41.2", true, false)]);
        for s in [booted_first, layered, rolled_back] {
            assert!(pending_update(&s).is_none(), "{s:?}");
        }
    }

    #[test]
    fn cancel_reaches_hooks_added_before_and_after() {
        let cancel = Cancel::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let before = tx.clone();
        cancel.on_cancel(move || before.send("before").unwrap());
        assert!(rx.try_recv().is_err(), "nothing runs before the cancel");
        let asks = cancel.clone();
        cancel.on_cancel(move || assert!(asks.is_cancelled()));
        cancel.cancel();
        assert_eq!(rx.try_recv(), Ok("before"));
        cancel.on_cancel(move || tx.send("after").unwrap());
        assert_eq!(rx.try_recv(), Ok("after"), "a late hook runs at once");
    }

    #[test]
    fn only_a_simulated_restart_says_so() {
        let d = Deployment {
            version: Some("41.20261125.0".to_owned()),
            ..Default::default()
        };
        let real = Restart::Requested(d.clone()).message();
        assert!(!real.to_lowercase().contains("simulated"), "{real}");
        assert!(real.contains("41.20261125.0"), "{real}");
        let simulated = Restart::Simulated(d).message();
        assert!(simulated.contains("simulated"), "{simulated}");
    }
}
