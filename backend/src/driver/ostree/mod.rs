//! The `ostree` driver: performs every operation on a sysroot itself, with libostree.
//!
//! Used for Keel's demo system, for test sysroots and for plain OSTree hosts. Each mutation runs
//! under the sysroot lock and ends in one `write_deployments` call, libostree's atomic swap of the
//! bootloader configuration: interrupted before it, the old boot entries stand; after it, the new.
//!
//! This file opens the sysroot, takes its lock and describes deployments; `deploy` updates, rolls
//! back, pins and removes; `layering` reads the package source and layers packages; `usage` works
//! out and performs cleanups; `etc` compares `/etc` with the image's defaults.

mod commits;
mod deploy;
mod error;
mod etc;
mod layering;
pub mod pkglist;
mod usage;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use ostree::{gio, glib, prelude::*};

use super::{
    Cancel, CleanupSet, Restart, SystemDriver, UpdateOutcome, pending_update, resolve,
    rollback_target,
};
use crate::error::{Context, Error, Result};
use crate::history;
use crate::model::{
    AvailablePackage, Capabilities, CleanupEstimate, ConfigDiff, Deployment, HistoryEntry,
    SystemStatus, Update,
};
use crate::packages::{Package, PackageDiff};
use crate::progress::Phases;
use commits::{CommitCache, CommitInfo};
use keel_api::Operation;
use keel_api::i18n::{fill, gettext, ngettext, plural_count};

/// Keel's own state inside a sysroot: the emulated boot record and the history journal.
pub const STATE_DIR: &str = "ostree/keel";
const BOOTED_FILE: &str = "booted";
/// Where a remote's layerable packages live, one ref each.
pub const PACKAGE_REF_PREFIX: &str = "packages/x86_64/";
/// The ref whose commit metadata lists the package source, under [`PACKAGE_INDEX_KEY`].
pub const PACKAGE_INDEX_REF: &str = "packages/index";
/// `a(ssss)`: name, evr, arch, summary of every layerable package.
pub const PACKAGE_INDEX_KEY: &str = "keel.packages";
/// Commit metadata of a layered commit, as rpm-ostree writes them.
const CLIENT_LAYER_KEY: &str = "rpmostree.clientlayer";
const LAYERED_PACKAGES_KEY: &str = "rpmostree.packages";
/// Refs that keep layered deployments' bases alive.
const BASE_REF_PREFIX: &str = "keel/base/";

struct Engine {
    sysroot: ostree::Sysroot,
    path: PathBuf,
    demo: bool,
    commits: CommitCache,
    /// A remote on a local path, opened once (by URL) to ask it for its package source.
    local_remote: RefCell<Option<(String, ostree::Repo)>>,
}

/// Holds the sysroot lock; released on drop, whatever happened.
struct Locked<'a>(&'a ostree::Sysroot);

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        self.0.unlock();
    }
}

impl Engine {
    /// Opens the sysroot at `path`; `demo` marks Keel's own demo system.
    pub fn open(path: &Path, demo: bool) -> Result<Self> {
        if !path.join("ostree/repo").is_dir() {
            return Err(Error::NotFound(fill(
                // Translators: {path} is a folder.
                &gettext(
                    "{path} is not an OSTree sysroot (it has no ostree/repo). Give the folder that holds ostree/ and boot/.",
                ),
                &[("path", &path.display().to_string())],
            )));
        }
        let sysroot = ostree::Sysroot::new(Some(&gio::File::for_path(path)));
        sysroot.load(gio::Cancellable::NONE).context(&fill(
            // Translators: {path} is a folder.
            &gettext("Loading the sysroot at {path}"),
            &[("path", &path.display().to_string())],
        ))?;
        Ok(Self {
            sysroot,
            path: path.to_owned(),
            demo,
            commits: CommitCache::default(),
            local_remote: RefCell::new(None),
        })
    }

    pub fn repo(&self) -> ostree::Repo {
        self.sysroot.repo()
    }

    /// Re-reads the sysroot when another program changed it, and the repository's configuration
    /// (remotes may have been edited, e.g. with `ostree remote add`). True when deployments changed.
    pub fn reload(&self) -> Result<bool> {
        let changed = self.sysroot.load_if_changed(gio::Cancellable::NONE)?;
        self.repo().reload_config(gio::Cancellable::NONE)?;
        Ok(changed)
    }

    fn state_dir(&self) -> PathBuf {
        self.path.join(STATE_DIR)
    }

    pub fn history_path(&self) -> PathBuf {
        self.state_dir().join(history::FILE_NAME)
    }

    fn lock(&self) -> Result<Locked<'_>> {
        if !self.sysroot.try_lock()? {
            return Err(Error::Busy(gettext(
                "Another program is changing this system right now (the OSTree sysroot is locked). Try again when it has finished.",
            )));
        }
        // Another process may have changed things since we last looked.
        self.reload()?;
        Ok(Locked(&self.sysroot))
    }

    fn deployments(&self) -> Vec<ostree::Deployment> {
        self.sysroot.deployments()
    }

    /// Which deployment is booted: libostree's answer on a running system, else Keel's record,
    /// else the first one (a sysroot that was never "booted" boots its default).
    fn booted_index(&self, deployments: &[ostree::Deployment]) -> Option<usize> {
        if let Some(booted) = self.sysroot.booted_deployment() {
            return deployments.iter().position(|d| d.equal(&booted));
        }
        let record = std::fs::read_to_string(self.state_dir().join(BOOTED_FILE)).ok();
        record
            .and_then(|text| {
                let mut parts = text.split_whitespace();
                let (osname, csum, serial) = (parts.next()?, parts.next()?, parts.next()?);
                deployments.iter().position(|d| {
                    d.osname() == osname
                        && d.csum() == csum
                        && d.deployserial().to_string() == serial
                })
            })
            .or(if deployments.is_empty() {
                None
            } else {
                Some(0)
            })
    }

    fn record_booted(&self, deployment: &ostree::Deployment) -> Result<()> {
        if self.sysroot.is_booted() {
            return Ok(());
        }
        let text = format!(
            "{} {} {}\n",
            deployment.osname(),
            deployment.csum(),
            deployment.deployserial()
        );
        write_atomically(&self.state_dir().join(BOOTED_FILE), text.as_bytes())
    }

    // ---- reading -------------------------------------------------------------------------------

    pub fn status(&self) -> Result<SystemStatus> {
        let deployments = self.deployments();
        let booted = self.booted_index(&deployments);
        let repo = self.repo();
        let mut list = Vec::with_capacity(deployments.len());
        for (index, d) in deployments.iter().enumerate() {
            list.push(self.describe(&repo, d, index, booted)?);
        }
        let os_name = deployments
            .get(booted.unwrap_or(0))
            .and_then(|d| self.os_release_name(d))
            .or_else(|| list.first().map(|d| d.osname.clone()))
            .unwrap_or_default();
        let cached_update = match booted {
            Some(b) => self.cached_update(&repo, &list, b)?,
            None => None,
        };
        let mut status = SystemStatus {
            driver: "ostree".to_owned(),
            os_name,
            sysroot: self.path.display().to_string(),
            demo: self.demo,
            booted_emulated: !self.sysroot.is_booted(),
            deployments: list,
            cached_update,
            capabilities: Capabilities::default(),
            rollback_target: None,
            pending_update: None,
            history_mark: history::mark(&self.history_path()),
        };
        status.rollback_target = rollback_target(&status).map(|d| d.id.clone());
        status.pending_update = pending_update(&status).map(|d| d.id.clone());
        status.capabilities = Capabilities {
            can_layer: self.offers_package_source(&repo, &status),
            can_pin: true,
            can_config_diff: true,
            can_cleanup: true,
            update_needs_restart: true,
            can_reboot: self.sysroot.is_booted(),
        };
        Ok(status)
    }

    fn describe(
        &self,
        repo: &ostree::Repo,
        d: &ostree::Deployment,
        index: usize,
        booted: Option<usize>,
    ) -> Result<Deployment> {
        let checksum = d.csum().to_string();
        let commit = self.commits.get(repo, &checksum).context(&fill(
            // Translators: {index} is a deployment's place in boot order (0 boots next).
            &gettext("Reading the commit of deployment {index}"),
            &[("index", &index.to_string())],
        ))?;
        let origin = d.origin();
        let refspec = origin.as_ref().and_then(origin_refspec);
        let requested = origin.as_ref().map(requested_packages).unwrap_or_default();
        let (base_checksum, base_version) = if commit.client_layer {
            let base = commit.parent.clone();
            let version = base
                .as_deref()
                .and_then(|b| self.commits.get(repo, b).ok())
                .and_then(|c| c.version.clone())
                .or_else(|| commit.version.clone());
            (base, version)
        } else {
            (None, None)
        };
        let booted_here = booted == Some(index);
        Ok(Deployment {
            id: deployment_id(d),
            index: index as u32,
            osname: d.osname().to_string(),
            checksum,
            serial: d.deployserial(),
            version: commit.version.clone(),
            timestamp: commit.timestamp,
            origin: refspec,
            container_image: None,
            booted: booted_here,
            staged: d.is_staged(),
            default: index == 0,
            pending: booted.is_some_and(|b| index < b),
            rollback: booted.is_some_and(|b| index == b + 1),
            pinned: d.is_pinned(),
            base_checksum,
            base_version,
            requested_packages: requested,
            layered_packages: commit.layered.clone(),
            local_packages: Vec::new(),
            replaced_packages: Vec::new(),
            removed_packages: Vec::new(),
            package_count: commit.packages.len() as u32,
        })
    }

    fn os_release_name(&self, d: &ostree::Deployment) -> Option<String> {
        let dir = self.path.join(self.sysroot.deployment_dirpath(d).as_str());
        let text = std::fs::read_to_string(dir.join("usr/lib/os-release")).ok()?;
        text.lines().find_map(|line| {
            line.strip_prefix("NAME=")
                .map(|v| v.trim_matches('"').to_owned())
        })
    }

    /// The remote's newest commit for the booted deployment's refspec, when it is newer than what
    /// is booted and not already deployed.
    fn cached_update(
        &self,
        repo: &ostree::Repo,
        list: &[Deployment],
        booted: usize,
    ) -> Result<Option<Update>> {
        let booted = &list[booted];
        let Some(refspec) = booted.origin.as_deref() else {
            return Ok(None);
        };
        let Some(tip) = repo.resolve_rev(refspec, true)? else {
            return Ok(None);
        };
        let base_of = |d: &Deployment| d.base_checksum.clone().unwrap_or(d.checksum.clone());
        if list
            .iter()
            .any(|d| (d.booted || d.pending) && base_of(d) == tip.as_str())
        {
            return Ok(None);
        }
        let commit = self.commits.get(repo, &tip)?;
        if commit.timestamp < booted.timestamp {
            return Ok(None);
        }
        // Whether all of it is here (after a download) can change, so it is read each time.
        let (_, state) = repo.load_commit(&tip)?;
        Ok(Some(Update {
            version: commit.version.clone(),
            checksum: tip.to_string(),
            timestamp: commit.timestamp,
            diff: self
                .commits
                .diff(repo, &booted.checksum, &booted.layered_packages, &tip)?,
            downloaded: !state.contains(ostree::RepoCommitState::PARTIAL),
            advisories: Vec::new(),
        }))
    }

    fn ostree_deployment(&self, d: &Deployment) -> Result<ostree::Deployment> {
        self.deployments()
            .into_iter()
            .nth(d.index as usize)
            .filter(|o| o.csum() == d.checksum.as_str() && o.deployserial() == d.serial)
            .ok_or_else(|| {
                Error::Busy(gettext(
                    "The deployments changed while Keel was looking; try again.",
                ))
            })
    }

    pub fn diff(&self, a: &str, b: &str) -> Result<PackageDiff> {
        let status = self.status()?;
        let (a, b) = (resolve(&status, a)?, resolve(&status, b)?);
        self.commits
            .diff(&self.repo(), &a.checksum, &[], &b.checksum)
    }

    /// Every package of a deployment (as [`resolve`] names it) or of a commit in the repository.
    pub fn packages(&self, spec: &str) -> Result<Vec<Package>> {
        let repo = self.repo();
        let is_commit = ostree::validate_checksum_string(spec).is_ok()
            && repo
                .has_object(ostree::ObjectType::Commit, spec, gio::Cancellable::NONE)
                .unwrap_or(false);
        let checksum = if is_commit {
            spec.to_owned()
        } else {
            resolve(&self.status()?, spec)?.checksum.clone()
        };
        Ok(self.commits.get(&repo, &checksum)?.packages.clone())
    }

    pub fn history(&self) -> Result<Vec<HistoryEntry>> {
        history::read(&self.history_path())
    }

    /// What the next deployment builds on, as libostree's merge deployment: the first one of the
    /// booted stateroot (a pending one if there is one), so changes stack rather than replace.
    fn merge_deployment<'s>(&self, status: &'s SystemStatus) -> Result<&'s Deployment> {
        let booted = status
            .booted()
            .ok_or_else(|| Error::NotFound(gettext("This sysroot has no deployments yet.")))?;
        Ok(status
            .deployments
            .iter()
            .find(|d| d.osname == booted.osname)
            .unwrap_or(booted))
    }

    fn booted_refspec(&self, status: &SystemStatus) -> Result<(String, String)> {
        let merge = self.merge_deployment(status)?;
        let refspec = merge.origin.as_deref().ok_or_else(|| {
            Error::InvalidArgument(gettext(
                "The booted deployment follows no branch (its origin has no refspec), so there is nothing to update from.",
            ))
        })?;
        split_refspec(refspec)
    }

    // ---- helpers -------------------------------------------------------------------------------

    /// Records a removal that freed space.
    fn journal_freed(&self, operation: Operation, before: &SystemStatus, result: &Result<u64>) {
        self.journal(
            operation,
            before,
            None,
            result,
            |freed| {
                fill(
                    // Translators: a history entry of a removal or a cleanup.
                    &ngettext(
                        "Freed {count} byte",
                        "Freed {count} bytes",
                        plural_count(*freed),
                    ),
                    &[("count", &freed.to_string())],
                )
            },
            None,
        );
    }

    fn journal<T>(
        &self,
        operation: Operation,
        before: &SystemStatus,
        to_version: Option<String>,
        result: &Result<T>,
        describe: impl FnOnce(&T) -> String,
        diff: Option<PackageDiff>,
    ) {
        let (success, message) = match result {
            Ok(value) => (true, describe(value)),
            Err(err) => (false, err.message().to_owned()),
        };
        let entry = HistoryEntry {
            time: glib::real_time() as u64 / 1_000_000,
            operation,
            from_version: before.booted().and_then(|d| d.version.clone()),
            to_version,
            success,
            message,
            diff: diff.filter(|_| success),
        };
        // History is a record, not part of the operation: failing to write it must not undo or
        // fail what was done.
        if let Err(err) = history::append(&self.history_path(), &entry) {
            tracing::warn!("could not write the history journal: {err}");
        }
    }
}

fn origin_refspec(origin: &glib::KeyFile) -> Option<String> {
    origin
        .string("origin", "refspec")
        .or_else(|_| origin.string("origin", "baserefspec"))
        .ok()
        .map(|s| s.to_string())
}

fn requested_packages(origin: &glib::KeyFile) -> Vec<String> {
    origin
        .string_list("packages", "requested")
        .map(|list| {
            list.iter()
                .map(|s| s.to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn copy_keyfile(origin: &glib::KeyFile) -> Result<glib::KeyFile> {
    let copy = glib::KeyFile::new();
    copy.load_from_data(&origin.to_data(), glib::KeyFileFlags::KEEP_COMMENTS)?;
    Ok(copy)
}

fn split_refspec(refspec: &str) -> Result<(String, String)> {
    match refspec.split_once(':') {
        Some((remote, branch)) if !remote.is_empty() && !branch.is_empty() => {
            Ok((remote.to_owned(), branch.to_owned()))
        }
        _ => Err(Error::InvalidArgument(fill(
            // Translators: {refspec} is an OSTree refspec, "remote:branch".
            &gettext(
                "The origin refspec “{refspec}” names no remote, so there is nowhere to update from.",
            ),
            &[("refspec", refspec)],
        ))),
    }
}

fn describe_short(d: &Deployment) -> String {
    fill(
        // Translators: {index} is the deployment's place in boot order (0 boots next), {version}
        // its version ("41.20261125.0") or a short checksum.
        &gettext("Deployment {index} ({version})"),
        &[
            ("index", &d.index.to_string()),
            ("version", &crate::driver::name(d)),
        ],
    )
}

/// A deployment's id as rpm-ostree writes it: `osname-checksum.serial`.
pub(super) fn deployment_id(d: &ostree::Deployment) -> String {
    format!("{}-{}.{}", d.osname(), d.csum(), d.deployserial())
}

/// Replaces a file so that a crash leaves either the old or the new content, never a mix.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(contents)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| Error::from(e.error))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// The libostree driver: an `Engine` behind a mutex, because libostree's sysroot object may move
/// between threads but not be used from two at once. The service opens one per thread.
pub struct OstreeDriver(Mutex<Engine>);

impl OstreeDriver {
    /// Opens the sysroot at `path`; `demo` marks Keel's own demo system.
    pub fn open(path: &Path, demo: bool) -> Result<Self> {
        Ok(Self(Mutex::new(Engine::open(path, demo)?)))
    }

    fn engine(&self) -> MutexGuard<'_, Engine> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A `GCancellable` that follows `cancel`.
fn cancellable(cancel: &Cancel) -> gio::Cancellable {
    let cancellable = gio::Cancellable::new();
    let follower = cancellable.clone();
    cancel.on_cancel(move || follower.cancel());
    cancellable
}

impl SystemDriver for OstreeDriver {
    fn reload(&self) -> Result<bool> {
        self.engine().reload()
    }

    fn status(&self) -> Result<SystemStatus> {
        self.engine().status()
    }

    fn diff(&self, from: &str, to: &str) -> Result<PackageDiff> {
        self.engine().diff(from, to)
    }

    fn packages(&self, deployment: &str) -> Result<Vec<Package>> {
        self.engine().packages(deployment)
    }

    fn config_diff(&self, deployment: &str) -> Result<ConfigDiff> {
        self.engine().config_diff(deployment)
    }

    fn history(&self) -> Result<Vec<HistoryEntry>> {
        self.engine().history()
    }

    fn record(&self, entry: &HistoryEntry) -> Result<()> {
        history::append(&self.engine().history_path(), entry)
    }

    fn available_packages(&self) -> Result<Vec<AvailablePackage>> {
        self.engine().available_packages()
    }

    fn cleanup_estimate(&self, what: CleanupSet) -> Result<CleanupEstimate> {
        self.engine().cleanup_estimate(what)
    }

    fn check(&self, phases: &Phases, cancel: &Cancel) -> Result<Option<Update>> {
        self.engine().check(phases, Some(&cancellable(cancel)))
    }

    fn update(
        &self,
        download_only: bool,
        phases: &Phases,
        cancel: &Cancel,
    ) -> Result<UpdateOutcome> {
        self.engine()
            .update(download_only, phases, Some(&cancellable(cancel)))
    }

    fn rollback(&self, target: Option<&str>, phases: &Phases) -> Result<Deployment> {
        self.engine().rollback(target, phases)
    }

    fn set_pinned(&self, deployment: &str, pinned: bool) -> Result<Deployment> {
        self.engine().set_pinned(deployment, pinned)
    }

    fn remove(&self, deployment: &str, cancel: &Cancel) -> Result<u64> {
        self.engine().remove(deployment, Some(&cancellable(cancel)))
    }

    fn cleanup(&self, what: CleanupSet, cancel: &Cancel) -> Result<u64> {
        self.engine().cleanup(what, Some(&cancellable(cancel)))
    }

    fn install(&self, packages: &[String], phases: &Phases, cancel: &Cancel) -> Result<String> {
        self.engine()
            .install(packages, phases, Some(&cancellable(cancel)))
    }

    fn uninstall(&self, packages: &[String], phases: &Phases, cancel: &Cancel) -> Result<String> {
        self.engine()
            .uninstall(packages, phases, Some(&cancellable(cancel)))
    }

    fn reset_packages(&self, phases: &Phases, cancel: &Cancel) -> Result<String> {
        self.engine()
            .reset_packages(phases, Some(&cancellable(cancel)))
    }

    fn reboot(&self) -> Result<Restart> {
        self.engine().reboot()
    }
}

#[cfg(test)]
mod tests {
    use ostree::gio;

    /// The build environment links a libostree that can make a real repository.
    #[test]
    fn creates_an_archive_repo() {
        let dir = tempfile::tempdir().unwrap();
        let repo = ostree::Repo::new_for_path(dir.path().join("repo"));
        repo.create(ostree::RepoMode::Archive, gio::Cancellable::NONE)
            .unwrap();
        assert!(dir.path().join("repo/config").is_file());
        assert_eq!(repo.mode(), ostree::RepoMode::Archive);
    }
}
