//! The `ostree` driver: performs every operation on a sysroot itself, with libostree.
//!
//! Used for Keel's demo system, for test sysroots and for plain OSTree hosts. Each mutation runs
//! under the sysroot lock and ends in one `write_deployments` call, libostree's atomic swap of the
//! bootloader configuration: interrupted before it, the old boot entries stand; after it, the new.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use ostree::{gio, glib, prelude::*};

use crate::error::{Context, Error, Result};
use crate::history;
use crate::model::{
    AvailablePackage, CleanupEstimate, ConfigDiff, Deployment, HistoryEntry, SystemStatus, Update,
};
use crate::packages::{Package, PackageDiff};
use crate::pkglist::{PKGLIST_KEY, pkglist_from_variant, pkglist_to_variant};
use crate::progress::Phases;

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

pub struct System {
    sysroot: ostree::Sysroot,
    path: PathBuf,
    demo: bool,
}

/// What `update` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    UpToDate,
    Downloaded { version: Option<String> },
    Deployed { id: String, version: Option<String> },
}

/// Which deployments `cleanup` removes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanupSet {
    pub pending: bool,
    pub rollback: bool,
    pub repo: bool,
}

/// Holds the sysroot lock; released on drop, whatever happened.
struct Locked<'a>(&'a ostree::Sysroot);

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        self.0.unlock();
    }
}

impl System {
    /// Opens the sysroot at `path`; `demo` marks Keel's own demo system.
    pub fn open(path: &Path, demo: bool) -> Result<Self> {
        if !path.join("ostree/repo").is_dir() {
            return Err(Error::NotFound(format!(
                "{} is not an OSTree sysroot (it has no ostree/repo). Give the folder that holds ostree/ and boot/.",
                path.display()
            )));
        }
        let sysroot = ostree::Sysroot::new(Some(&gio::File::for_path(path)));
        sysroot
            .load(gio::Cancellable::NONE)
            .context(&format!("Loading the sysroot at {}", path.display()))?;
        Ok(Self {
            sysroot,
            path: path.to_owned(),
            demo,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
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
            return Err(Error::Busy(
                "Another program is changing this system right now (the OSTree sysroot is locked). Try again when it has finished."
                    .to_owned(),
            ));
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
        Ok(SystemStatus {
            driver: "ostree".to_owned(),
            os_name,
            sysroot: self.path.display().to_string(),
            demo: self.demo,
            booted_emulated: !self.sysroot.is_booted(),
            deployments: list,
            cached_update,
        })
    }

    fn describe(
        &self,
        repo: &ostree::Repo,
        d: &ostree::Deployment,
        index: usize,
        booted: Option<usize>,
    ) -> Result<Deployment> {
        let checksum = d.csum().to_string();
        let commit = CommitInfo::load(repo, &checksum)
            .context(&format!("Reading the commit of deployment {index}"))?;
        let origin = d.origin();
        let refspec = origin.as_ref().and_then(origin_refspec);
        let requested = origin.as_ref().map(requested_packages).unwrap_or_default();
        let (base_checksum, base_version) = if commit.client_layer {
            let base = commit.parent.clone();
            let version = base
                .as_deref()
                .and_then(|b| CommitInfo::load(repo, b).ok())
                .and_then(|c| c.version)
                .or_else(|| commit.version.clone());
            (base, version)
        } else {
            (None, None)
        };
        let booted_here = booted == Some(index);
        Ok(Deployment {
            id: format!("{}-{}.{}", d.osname(), checksum, d.deployserial()),
            index: index as u32,
            osname: d.osname().to_string(),
            checksum,
            serial: d.deployserial(),
            version: commit.version,
            timestamp: commit.timestamp,
            origin: refspec,
            booted: booted_here,
            staged: d.is_staged(),
            default: index == 0,
            pending: booted.is_some_and(|b| index < b),
            rollback: booted.is_some_and(|b| index == b + 1),
            pinned: d.is_pinned(),
            base_checksum,
            base_version,
            requested_packages: requested,
            layered_packages: commit.layered,
            packages: commit.packages,
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
        let (variant, state) = repo.load_commit(&tip)?;
        let commit = CommitInfo::from_variant(&variant);
        if commit.timestamp < booted.timestamp {
            return Ok(None);
        }
        let base_packages: Vec<Package> = booted
            .packages
            .iter()
            .filter(|p| !booted.layered_packages.contains(&p.name))
            .cloned()
            .collect();
        Ok(Some(Update {
            version: commit.version,
            checksum: tip.to_string(),
            timestamp: commit.timestamp,
            diff: PackageDiff::between(&base_packages, &commit.packages),
            downloaded: !state.contains(ostree::RepoCommitState::PARTIAL),
        }))
    }

    fn ostree_deployment(&self, d: &Deployment) -> Result<ostree::Deployment> {
        self.deployments()
            .into_iter()
            .nth(d.index as usize)
            .filter(|o| o.csum() == d.checksum.as_str() && o.deployserial() == d.serial)
            .ok_or_else(|| {
                Error::Busy("The deployments changed while Keel was looking; try again.".to_owned())
            })
    }

    pub fn diff(&self, a: &str, b: &str) -> Result<PackageDiff> {
        let status = self.status()?;
        let (a, b) = (resolve(&status, a)?, resolve(&status, b)?);
        Ok(PackageDiff::between(&a.packages, &b.packages))
    }

    /// The local changes to `/etc` of a deployment against its image's defaults in `/usr/etc`.
    pub fn config_diff(&self, spec: &str) -> Result<ConfigDiff> {
        let status = self.status()?;
        let d = resolve(&status, spec)?;
        let od = self.ostree_deployment(d)?;
        let root = self
            .path
            .join(self.sysroot.deployment_dirpath(&od).as_str());
        config_diff(&root.join("usr/etc"), &root.join("etc"))
    }

    pub fn history(&self) -> Result<Vec<HistoryEntry>> {
        history::read(&self.history_path())
    }

    /// Packages the booted deployment's remote offers for layering (from its summary).
    pub fn available_packages(&self) -> Result<Vec<AvailablePackage>> {
        let status = self.status()?;
        let (remote, _) = self.booted_refspec(&status)?;
        self.package_index(&remote)
    }

    /// Reads the package source's index: the metadata of the commit on `packages/index`, fetched
    /// on its own (commit metadata only, so it costs one small download).
    fn package_index(&self, remote: &str) -> Result<Vec<AvailablePackage>> {
        let phases = Phases::new(std::sync::Arc::new(crate::progress::Silent));
        self.pull(
            remote,
            &[PACKAGE_INDEX_REF],
            true,
            &phases,
            (0.0, 0.0),
            None,
        )
        .context(&format!("Reading the package list of remote “{remote}”"))?;
        let repo = self.repo();
        let checksum = repo.require_rev(&format!("{remote}:{PACKAGE_INDEX_REF}"))?;
        let commit = repo.load_variant(ostree::ObjectType::Commit, &checksum)?;
        let entries: Vec<(String, String, String, String)> =
            glib::VariantDict::new(Some(&commit.child_value(0)))
                .lookup_value(PACKAGE_INDEX_KEY, None)
                .and_then(|v| v.get())
                .unwrap_or_default();
        Ok(entries.into_iter().map(AvailablePackage::from).collect())
    }

    /// What the next deployment builds on, as libostree's merge deployment: the first one of the
    /// booted stateroot (a pending one if there is one), so changes stack rather than replace.
    fn merge_deployment<'s>(&self, status: &'s SystemStatus) -> Result<&'s Deployment> {
        let booted = status
            .booted()
            .ok_or_else(|| Error::NotFound("This sysroot has no deployments yet.".to_owned()))?;
        Ok(status
            .deployments
            .iter()
            .find(|d| d.osname == booted.osname)
            .unwrap_or(booted))
    }

    fn booted_refspec(&self, status: &SystemStatus) -> Result<(String, String)> {
        let merge = self.merge_deployment(status)?;
        let refspec = merge.origin.as_deref().ok_or_else(|| {
            Error::InvalidArgument(
                "The booted deployment follows no branch (its origin has no refspec), so there is nothing to update from.".to_owned(),
            )
        })?;
        split_refspec(refspec)
    }

    // ---- mutations -----------------------------------------------------------------------------

    /// Asks the remote for its newest commit, fetching only commit metadata.
    pub fn check(
        &self,
        phases: &Phases,
        cancel: Option<&gio::Cancellable>,
    ) -> Result<Option<Update>> {
        let _lock = self.lock()?;
        let status = self.status()?;
        let (remote, branch) = self.booted_refspec(&status)?;
        self.pull(&remote, &[&branch], true, phases, (0.0, 0.9), cancel)
            .context("Checking for updates")?;
        let update = self.status()?.cached_update;
        phases.done(match &update {
            Some(_) => "An update is available",
            None => "The system is up to date",
        });
        Ok(update)
    }

    /// Downloads the newest commit and, unless `download_only`, deploys it to boot next.
    pub fn update(
        &self,
        download_only: bool,
        phases: &Phases,
        cancel: Option<&gio::Cancellable>,
    ) -> Result<UpdateOutcome> {
        let operation = if download_only { "download" } else { "update" };
        let _lock = self.lock()?;
        let before = self.status()?;
        let result = self.update_locked(&before, download_only, phases, cancel);
        let after_version = match &result {
            Ok(UpdateOutcome::Deployed { version, .. } | UpdateOutcome::Downloaded { version }) => {
                version.clone()
            }
            _ => None,
        };
        let diff = before.cached_update.as_ref().map(|u| u.diff.clone());
        self.journal(
            operation,
            &before,
            after_version,
            &result,
            |outcome| match outcome {
                UpdateOutcome::UpToDate => "Already up to date".to_owned(),
                UpdateOutcome::Downloaded { .. } => "Downloaded; not deployed yet".to_owned(),
                UpdateOutcome::Deployed { .. } => "Deployed; boots next".to_owned(),
            },
            diff,
        );
        result
    }

    fn update_locked(
        &self,
        before: &SystemStatus,
        download_only: bool,
        phases: &Phases,
        cancel: Option<&gio::Cancellable>,
    ) -> Result<UpdateOutcome> {
        let booted = self.merge_deployment(before)?.clone();
        let (remote, branch) = self.booted_refspec(before)?;
        let refspec = format!("{remote}:{branch}");
        self.pull(&remote, &[&branch], false, phases, (0.0, 0.6), cancel)
            .context("Downloading the update")?;
        let repo = self.repo();
        let tip = repo.require_rev(&refspec)?.to_string();
        let booted_base = booted
            .base_checksum
            .clone()
            .unwrap_or(booted.checksum.clone());
        let already = before.deployments.iter().any(|d| {
            (d.booted || d.pending) && d.base_checksum.as_ref().unwrap_or(&d.checksum) == &tip
        });
        let version = CommitInfo::load(&repo, &tip)?.version;
        if tip == booted_base || already {
            phases.done("The system is up to date");
            return Ok(UpdateOutcome::UpToDate);
        }
        if download_only {
            phases.done("Downloaded");
            return Ok(UpdateOutcome::Downloaded { version });
        }
        let revision = if booted.requested_packages.is_empty() {
            tip.clone()
        } else {
            phases.at(
                0.6,
                0.75,
                0.0,
                "Layering",
                "Applying layered packages",
                (0, 0),
            );
            self.pull_packages(
                &remote,
                &booted.requested_packages,
                phases,
                (0.6, 0.7),
                cancel,
            )?;
            self.compose_layer(&remote, &tip, &booted.requested_packages)
                .context("Applying the layered packages to the new version")?
        };
        let merge = self.ostree_deployment(&booted)?;
        let origin = merge.origin().map(|o| copy_keyfile(&o)).transpose()?;
        let id =
            self.deploy_and_write(&merge, &revision, origin.as_ref(), before, phases, cancel)?;
        phases.done("Update deployed");
        Ok(UpdateOutcome::Deployed { id, version })
    }

    /// Deploys `revision` to boot next and writes the new boot order: the new deployment, the booted
    /// one, its rollback and every pinned one.
    fn deploy_and_write(
        &self,
        merge: &ostree::Deployment,
        revision: &str,
        origin: Option<&glib::KeyFile>,
        before: &SystemStatus,
        phases: &Phases,
        cancel: Option<&gio::Cancellable>,
    ) -> Result<String> {
        phases.at(
            0.75,
            0.9,
            0.0,
            "Deploying",
            "Checking out the new version and merging /etc",
            (0, 0),
        );
        let new = self
            .sysroot
            .deploy_tree_with_options(
                Some(merge.osname().as_str()),
                revision,
                origin,
                Some(merge),
                None,
                cancel,
            )
            .context("Deploying")?;
        phases.at(
            0.9,
            1.0,
            0.0,
            "Writing boot entries",
            "Updating the bootloader configuration",
            (0, 0),
        );
        let current = self.deployments();
        let mut keep = vec![new.clone()];
        for (d, info) in current.iter().zip(&before.deployments) {
            if info.booted || info.rollback || info.pinned {
                keep.push(d.clone());
            }
        }
        self.write(&keep, true, cancel)?;
        self.record_booted_after_write(before)?;
        Ok(format!(
            "{}-{}.{}",
            new.osname(),
            new.csum(),
            new.deployserial()
        ))
    }

    /// Makes sure Keel's boot record still names the booted deployment after a rewrite.
    fn record_booted_after_write(&self, before: &SystemStatus) -> Result<()> {
        let Some(booted) = before.booted() else {
            return Ok(());
        };
        let still_there = self
            .deployments()
            .into_iter()
            .find(|d| d.csum() == booted.checksum.as_str() && d.deployserial() == booted.serial);
        match still_there {
            Some(d) => self.record_booted(&d),
            None => Ok(()),
        }
    }

    /// Keeps the base commits of layered deployments from being pruned, with one ref each
    /// (`keel/base/N`, as rpm-ostree keeps `rpmostree/base/N`): re-layering and removing packages
    /// need the base, and a layered commit only names it as its parent.
    fn keep_bases(&self, list: &[ostree::Deployment]) -> Result<()> {
        let repo = self.repo();
        let mut bases = BTreeSet::new();
        for d in list {
            let info = CommitInfo::load(&repo, &d.csum())?;
            if let (true, Some(parent)) = (info.client_layer, info.parent) {
                bases.insert(parent);
            }
        }
        let old = repo.list_refs_ext(
            Some(BASE_REF_PREFIX.trim_end_matches('/')),
            ostree::RepoListRefsExtFlags::NONE,
            gio::Cancellable::NONE,
        )?;
        for (i, base) in bases.iter().enumerate() {
            repo.set_ref_immediate(
                None,
                &format!("{BASE_REF_PREFIX}{i}"),
                Some(base),
                gio::Cancellable::NONE,
            )?;
        }
        for name in old.keys() {
            let index = name
                .strip_prefix(BASE_REF_PREFIX)
                .and_then(|n| n.parse::<usize>().ok());
            if index.is_none_or(|i| i >= bases.len()) {
                repo.set_ref_immediate(None, name, None, gio::Cancellable::NONE)?;
            }
        }
        Ok(())
    }

    /// Writes the new boot order (libostree swaps the bootloader configuration atomically), then,
    /// when `prune` is set, removes what no deployment or ref needs any more.
    fn write(
        &self,
        list: &[ostree::Deployment],
        prune: bool,
        cancel: Option<&gio::Cancellable>,
    ) -> Result<()> {
        self.keep_bases(list)
            .context("Keeping the base images of layered deployments")?;
        let opts = ostree::SysrootWriteDeploymentsOpts {
            do_postclean: false,
        };
        self.sysroot
            .write_deployments_with_options(list, &opts, cancel)
            .context("Writing the new boot order")?;
        self.sysroot.load(gio::Cancellable::NONE)?;
        if prune {
            self.prune(cancel)?;
        }
        Ok(())
    }

    /// libostree's cleanup, made safe to interrupt: the commits it is about to delete are first
    /// marked partial, so a prune cut short leaves commits that say they are incomplete (which
    /// `ostree fsck` and pulls accept) rather than commits with missing trees.
    /// The commits a prune keeps (with what they reach): those of `deployments`, and every ref's
    /// but the deployment refs (`ostree/…`), which the cleanup regenerates from the deployments.
    fn prune_roots(&self, deployments: &[ostree::Deployment]) -> Result<BTreeSet<String>> {
        let mut keep: BTreeSet<String> = deployments.iter().map(|d| d.csum().to_string()).collect();
        for (name, checksum) in self.repo().list_refs(None, gio::Cancellable::NONE)? {
            if !name.starts_with("ostree/") {
                keep.insert(checksum);
            }
        }
        Ok(keep)
    }

    fn prune(&self, cancel: Option<&gio::Cancellable>) -> Result<()> {
        let repo = self.repo();
        let keep = self.prune_roots(&self.deployments())?;
        for object in repo.list_commit_objects_starting_with(None, gio::Cancellable::NONE)? {
            let checksum = object.split('.').next().unwrap_or_default();
            if !keep.contains(checksum) {
                repo.mark_commit_partial(checksum, true)?;
            }
        }
        self.sysroot.cleanup(cancel).context("Cleaning up")?;
        Ok(())
    }

    /// What `cleanup(what)` would remove and the space it would free, found without changing
    /// anything: the removed deployments' folders and the objects no kept commit reaches, counting
    /// a file only when all its hard links are among them.
    pub fn cleanup_estimate(&self, what: CleanupSet) -> Result<CleanupEstimate> {
        let status = self.status()?;
        let remove = cleanup_indices(&status, what);
        let deployments = self.deployments();
        let mut doomed: Vec<PathBuf> = Vec::new();
        for &i in &remove {
            let dir = self
                .path
                .join(self.sysroot.deployment_dirpath(&deployments[i]).as_str());
            let mut origin = dir.clone().into_os_string();
            origin.push(".origin");
            doomed.push(dir);
            doomed.push(origin.into());
        }
        if what.repo || !remove.is_empty() {
            let kept: Vec<ostree::Deployment> = deployments
                .iter()
                .enumerate()
                .filter(|(i, _)| !remove.contains(i))
                .map(|(_, d)| d.clone())
                .collect();
            let repo = self.repo();
            let mut reachable = HashSet::new();
            for commit in self.prune_roots(&kept)? {
                reachable.extend(repo.traverse_commit(&commit, 0, gio::Cancellable::NONE)?);
            }
            let objects = self.path.join("ostree/repo/objects");
            let all = repo.list_objects(
                ostree::ffi::OSTREE_REPO_LIST_OBJECTS_ALL,
                gio::Cancellable::NONE,
            )?;
            for name in all.keys().filter(|n| !reachable.contains(*n)) {
                let checksum = name.checksum();
                let kind = ostree::object_type_to_string(name.object_type());
                doomed.push(
                    objects
                        .join(&checksum[..2])
                        .join(format!("{}.{kind}", &checksum[2..])),
                );
            }
        }
        Ok(CleanupEstimate {
            deployments: remove
                .iter()
                .map(|&i| status.deployments[i].id.clone())
                .collect(),
            bytes: Usage::of(&doomed).exclusive_bytes(),
        })
    }

    /// Makes a deployment boot next: the rollback one by default. Only the boot order changes.
    pub fn rollback(&self, target: Option<&str>, phases: &Phases) -> Result<Deployment> {
        let _lock = self.lock()?;
        let before = self.status()?;
        let result = self.rollback_locked(&before, target, phases);
        let to = result.as_ref().ok().and_then(|d| d.version.clone());
        self.journal(
            "rollback",
            &before,
            to,
            &result,
            |d| {
                format!(
                    "{} boots next",
                    d.version.as_deref().unwrap_or(d.short_checksum())
                )
            },
            None,
        );
        result
    }

    fn rollback_locked(
        &self,
        before: &SystemStatus,
        target: Option<&str>,
        phases: &Phases,
    ) -> Result<Deployment> {
        let list = &before.deployments;
        let booted = before
            .booted()
            .ok_or_else(|| Error::NotFound("This sysroot has no deployments yet.".to_owned()))?;
        let chosen = match target {
            Some(spec) => resolve(before, spec)?,
            // As rpm-ostree does: the rollback deployment, or, when only a pending one exists,
            // the booted one back on top.
            None => list
                .iter()
                .find(|d| d.rollback)
                .or_else(|| list.iter().any(|d| d.pending).then_some(booted))
                .ok_or_else(|| {
                    Error::InvalidArgument(
                        "There is no other deployment to roll back to.".to_owned(),
                    )
                })?,
        };
        if chosen.index == 0 {
            return Err(Error::InvalidArgument(format!(
                "{} already boots next.",
                describe_short(chosen)
            )));
        }
        if list.iter().any(|d| d.staged) {
            return Err(Error::InvalidArgument(
                "An update is staged for the next boot; discard it first (Clean Up, pending deployment), then roll back.".to_owned(),
            ));
        }
        phases.at(
            0.0,
            1.0,
            0.2,
            "Rolling back",
            "Changing the boot order",
            (0, 0),
        );
        let current = self.deployments();
        let chosen_index = chosen.index as usize;
        let mut order = vec![current[chosen_index].clone()];
        order.extend(
            current
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != chosen_index)
                .map(|(_, d)| d.clone()),
        );
        // Reordering frees nothing, so the repository prune (slow on big repos) is skipped.
        self.write(&order, false, None)?;
        self.record_booted_after_write(before)?;
        phases.done("Rolled back");
        let after = self.status()?;
        Ok(after.deployments[0].clone())
    }

    pub fn set_pinned(&self, spec: &str, pinned: bool) -> Result<Deployment> {
        let _lock = self.lock()?;
        let before = self.status()?;
        let operation = if pinned { "pin" } else { "unpin" };
        let result = (|| {
            let d = resolve(&before, spec)?;
            if d.staged {
                return Err(Error::InvalidArgument(
                    "A staged deployment cannot be pinned; restart into it first.".to_owned(),
                ));
            }
            if d.pinned != pinned {
                self.sysroot
                    .deployment_set_pinned(&self.ostree_deployment(d)?, pinned)
                    .context(&format!("Changing the pin of {}", describe_short(d)))?;
                self.sysroot.load(gio::Cancellable::NONE)?;
            }
            let status = self.status()?;
            Ok(status.deployments[d.index as usize].clone())
        })();
        self.journal(
            operation,
            &before,
            None,
            &result,
            |d| {
                format!(
                    "{} {}",
                    describe_short(d),
                    if pinned { "pinned" } else { "unpinned" }
                )
            },
            None,
        );
        result
    }

    /// Removes one deployment that is neither booted nor pinned.
    pub fn remove(&self, spec: &str, cancel: Option<&gio::Cancellable>) -> Result<u64> {
        let _lock = self.lock()?;
        let before = self.status()?;
        let result = (|| {
            let d = resolve(&before, spec)?;
            if d.booted {
                return Err(Error::InvalidArgument(format!(
                    "{} is the booted deployment; it cannot be removed.",
                    describe_short(d)
                )));
            }
            if d.pinned {
                return Err(Error::InvalidArgument(format!(
                    "{} is pinned; unpin it first if you really want to remove it.",
                    describe_short(d)
                )));
            }
            self.remove_indices(&before, &[d.index as usize], true, cancel)
        })();
        self.journal(
            "remove",
            &before,
            None,
            &result,
            |freed| format!("Freed {freed} bytes"),
            None,
        );
        result
    }

    fn remove_indices(
        &self,
        before: &SystemStatus,
        remove: &[usize],
        prune: bool,
        cancel: Option<&gio::Cancellable>,
    ) -> Result<u64> {
        let ostree_dir = [self.path.join("ostree")];
        let used = Usage::of(&ostree_dir);
        let keep: Vec<ostree::Deployment> = self
            .deployments()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !remove.contains(i))
            .map(|(_, d)| d)
            .collect();
        self.write(&keep, prune, cancel)?;
        self.record_booted_after_write(before)?;
        Ok(used.freed_since(&Usage::of(&ostree_dir)))
    }

    /// Removes pending and/or rollback deployments (never booted or pinned ones) and prunes the
    /// repository; returns the bytes freed.
    pub fn cleanup(&self, what: CleanupSet, cancel: Option<&gio::Cancellable>) -> Result<u64> {
        let _lock = self.lock()?;
        let before = self.status()?;
        let remove = cleanup_indices(&before, what);
        let result = self.remove_indices(&before, &remove, what.repo || !remove.is_empty(), cancel);
        self.journal(
            "cleanup",
            &before,
            None,
            &result,
            |freed| format!("Freed {freed} bytes"),
            None,
        );
        result
    }

    /// Layers packages on the booted deployment's base (no base update), as a new pending deployment.
    pub fn install(
        &self,
        names: &[String],
        phases: &Phases,
        cancel: Option<&gio::Cancellable>,
    ) -> Result<String> {
        self.change_packages("install", names, phases, cancel, |requested, names| {
            for name in names {
                if requested.contains(name) {
                    return Err(Error::InvalidArgument(format!(
                        "{name} is already layered."
                    )));
                }
                requested.push(name.clone());
            }
            Ok(())
        })
    }

    pub fn uninstall(
        &self,
        names: &[String],
        phases: &Phases,
        cancel: Option<&gio::Cancellable>,
    ) -> Result<String> {
        self.change_packages("uninstall", names, phases, cancel, |requested, names| {
            for name in names {
                let Some(at) = requested.iter().position(|r| r == name) else {
                    return Err(Error::NotFound(format!(
                        "{name} is not layered, so it cannot be removed."
                    )));
                };
                requested.remove(at);
            }
            Ok(())
        })
    }

    pub fn reset_packages(
        &self,
        phases: &Phases,
        cancel: Option<&gio::Cancellable>,
    ) -> Result<String> {
        self.change_packages("reset-packages", &[], phases, cancel, |requested, _| {
            if requested.is_empty() {
                return Err(Error::InvalidArgument(
                    "No packages are layered.".to_owned(),
                ));
            }
            requested.clear();
            Ok(())
        })
    }

    fn change_packages(
        &self,
        operation: &str,
        names: &[String],
        phases: &Phases,
        cancel: Option<&gio::Cancellable>,
        edit: impl FnOnce(&mut Vec<String>, &[String]) -> Result<()>,
    ) -> Result<String> {
        for name in names {
            validate_package_name(name)?;
        }
        let _lock = self.lock()?;
        let before = self.status()?;
        let result = (|| {
            let booted = self.merge_deployment(&before)?.clone();
            let (remote, branch) = self.booted_refspec(&before)?;
            let mut requested = booted.requested_packages.clone();
            edit(&mut requested, names)?;
            let base = booted
                .base_checksum
                .clone()
                .unwrap_or(booted.checksum.clone());
            let revision = if requested.is_empty() {
                base
            } else {
                let available = self.package_index(&remote)?;
                for name in &requested {
                    if !available.iter().any(|p| &p.name == name) {
                        let names: Vec<&str> = available.iter().map(|p| p.name.as_str()).collect();
                        return Err(Error::NotFound(format!(
                            "There is no package “{name}” in the package source of remote “{remote}”. Available: {}.",
                            names.join(", ")
                        )));
                    }
                }
                self.pull_packages(&remote, &requested, phases, (0.0, 0.5), cancel)?;
                phases.at(
                    0.5,
                    0.75,
                    0.0,
                    "Layering",
                    "Composing the layered image",
                    (0, 0),
                );
                self.compose_layer(&remote, &base, &requested)?
            };
            let merge = self.ostree_deployment(&booted)?;
            let origin = layered_origin(&merge, &format!("{remote}:{branch}"), &requested)?;
            let id =
                self.deploy_and_write(&merge, &revision, Some(&origin), &before, phases, cancel)?;
            phases.done("Packages changed; they take effect at the next boot");
            Ok(id)
        })();
        self.journal(
            operation,
            &before,
            None,
            &result,
            |_| {
                if names.is_empty() {
                    "All layered packages removed".to_owned()
                } else {
                    names.join(", ")
                }
            },
            None,
        );
        result
    }

    /// Makes the next-boot deployment the booted one. Only on an emulated sysroot: a real host
    /// reboots through systemd.
    pub fn reboot(&self) -> Result<Deployment> {
        let _lock = self.lock()?;
        let before = self.status()?;
        let result = (|| {
            if self.sysroot.is_booted() {
                // The running system: systemd-logind restarts it (and honours inhibitors).
                let status = std::process::Command::new("systemctl")
                    .arg("reboot")
                    .status()?;
                return if status.success() {
                    Ok(before.deployments[0].clone())
                } else {
                    Err(Error::Failed(format!(
                        "systemctl reboot failed ({status}); restart the computer from its menu instead."
                    )))
                };
            }
            let first = self.deployments().into_iter().next().ok_or_else(|| {
                Error::NotFound("This sysroot has no deployments yet.".to_owned())
            })?;
            self.record_booted(&first)?;
            Ok(self.status()?.deployments[0].clone())
        })();
        let to = result.as_ref().ok().and_then(|d| d.version.clone());
        self.journal(
            "reboot",
            &before,
            to,
            &result,
            |_| "Restarted (simulated)".to_owned(),
            None,
        );
        result
    }

    // ---- helpers -------------------------------------------------------------------------------

    fn journal<T>(
        &self,
        operation: &str,
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
            operation: operation.to_owned(),
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

    fn pull(
        &self,
        remote: &str,
        refs: &[&str],
        commit_only: bool,
        phases: &Phases,
        span: (f64, f64),
        cancel: Option<&gio::Cancellable>,
    ) -> Result<()> {
        let repo = self.repo();
        // libostree reports pull progress on the thread-default main context, which it iterates
        // itself during the pull; a private one keeps those callbacks on this thread.
        let context = glib::MainContext::new();
        context
            .with_thread_default(|| {
                let progress = ostree::AsyncProgress::new();
                let sink = phases.clone();
                progress.connect_changed(move |p| {
                    let requested = p.uint("requested")
                        + p.uint("outstanding-metadata-fetches")
                        + p.uint("metadata-fetched");
                    let fetched = p.uint("fetched") + p.uint("metadata-fetched");
                    let within = if requested == 0 {
                        0.0
                    } else {
                        fetched as f64 / requested as f64
                    };
                    let bytes = p.uint64("bytes-transferred");
                    let message = p
                        .status()
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| format!("{fetched} of {requested} objects"));
                    sink.at(span.0, span.1, within, "Downloading", &message, (bytes, 0));
                });
                // Verify every object, even from a local path (libostree trusts those by default):
                // a damaged mirror must never reach a deployment.
                let mut flags = ostree::RepoPullFlags::UNTRUSTED;
                if commit_only {
                    flags |= ostree::RepoPullFlags::COMMIT_ONLY;
                }
                let result = repo.pull(remote, refs, flags, Some(&progress), cancel);
                progress.finish();
                result
            })
            .map_err(|_| Error::Failed("Could not set up the download.".to_owned()))?
            .map_err(|err| match Error::from(err) {
                // Errors without advice of their own come from data the server sent.
                Error::Failed(m) if !m.contains("othing was changed") => Error::Failed(format!(
                    "{m}. The update server sent data that cannot be used; nothing was changed. Try again later, or tell the server's maintainers."
                )),
                other => other,
            })?;
        phases.at(span.0, span.1, 1.0, "Downloading", "Downloaded", (0, 0));
        Ok(())
    }

    fn pull_packages(
        &self,
        remote: &str,
        names: &[String],
        phases: &Phases,
        span: (f64, f64),
        cancel: Option<&gio::Cancellable>,
    ) -> Result<()> {
        let refs: Vec<String> = names
            .iter()
            .map(|n| format!("{PACKAGE_REF_PREFIX}{n}"))
            .collect();
        let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
        self.pull(remote, &refs, false, phases, span, cancel)
            .context("Downloading the layered packages")
    }

    /// Writes a commit of `base` with the packages' trees laid over it, as rpm-ostree's client
    /// layer does: parent = base, the merged package list, and the layering keys.
    fn compose_layer(&self, remote: &str, base: &str, names: &[String]) -> Result<String> {
        let repo = self.repo();
        let base_info = repo.load_variant(ostree::ObjectType::Commit, base)?;
        let base_commit = CommitInfo::from_variant(&base_info);
        repo.prepare_transaction(gio::Cancellable::NONE)?;
        let result = (|| -> Result<String> {
            let tree = ostree::MutableTree::from_commit(&repo, base)?;
            let mut packages = base_commit.packages.clone();
            let mut sorted = names.to_vec();
            sorted.sort();
            for name in &sorted {
                let (root, checksum) = repo.read_commit(
                    &format!("{remote}:{PACKAGE_REF_PREFIX}{name}"),
                    gio::Cancellable::NONE,
                )?;
                repo.write_directory_to_mtree(&root, &tree, None, gio::Cancellable::NONE)?;
                let info = CommitInfo::load(&repo, &checksum)?;
                packages.extend(info.packages);
            }
            let root = repo.write_mtree(&tree, gio::Cancellable::NONE)?;
            let root = root.downcast::<ostree::RepoFile>().map_err(|_| {
                Error::Failed("libostree returned an unexpected tree object".to_owned())
            })?;
            let metadata = glib::VariantDict::new(Some(&base_info.child_value(0)));
            metadata.insert_value(PKGLIST_KEY, &pkglist_to_variant(&packages));
            metadata.insert_value(CLIENT_LAYER_KEY, &true.to_variant());
            metadata.insert_value(LAYERED_PACKAGES_KEY, &sorted.to_variant());
            // The base's time makes the same layer on the same base the same commit.
            let checksum = repo.write_commit_with_time(
                Some(base),
                Some(&format!("Layered packages: {}", sorted.join(", "))),
                None,
                Some(&metadata.end()),
                &root,
                base_commit.timestamp,
                gio::Cancellable::NONE,
            )?;
            repo.commit_transaction(gio::Cancellable::NONE)?;
            Ok(checksum.to_string())
        })();
        if result.is_err() {
            let _ = repo.abort_transaction(gio::Cancellable::NONE);
        }
        result
    }
}

/// What Keel reads from a commit.
struct CommitInfo {
    version: Option<String>,
    timestamp: u64,
    parent: Option<String>,
    packages: Vec<Package>,
    client_layer: bool,
    layered: Vec<String>,
}

impl CommitInfo {
    fn load(repo: &ostree::Repo, checksum: &str) -> Result<Self> {
        let variant = repo.load_variant(ostree::ObjectType::Commit, checksum)?;
        Ok(Self::from_variant(&variant))
    }

    fn from_variant(commit: &glib::Variant) -> Self {
        let meta = glib::VariantDict::new(Some(&commit.child_value(0)));
        let lookup = |key: &str| meta.lookup_value(key, None);
        Self {
            version: lookup("version").and_then(|v| v.get::<String>()),
            timestamp: ostree::commit_get_timestamp(commit),
            parent: ostree::commit_get_parent(commit).map(|p| p.to_string()),
            packages: lookup(PKGLIST_KEY)
                .and_then(|v| pkglist_from_variant(&v).ok())
                .unwrap_or_default(),
            client_layer: lookup(CLIENT_LAYER_KEY)
                .and_then(|v| v.get::<bool>())
                .unwrap_or(false),
            layered: lookup(LAYERED_PACKAGES_KEY)
                .and_then(|v| v.get::<Vec<String>>())
                .unwrap_or_default(),
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

/// The origin of a deployment with `requested` layered: rpm-ostree's form, `baserefspec` plus
/// `[packages] requested=` when there are packages, plain `refspec` when there are none.
fn layered_origin(
    merge: &ostree::Deployment,
    refspec: &str,
    requested: &[String],
) -> Result<glib::KeyFile> {
    let origin = match merge.origin() {
        Some(o) => copy_keyfile(&o)?,
        None => glib::KeyFile::new(),
    };
    let _ = origin.remove_key("origin", "refspec");
    let _ = origin.remove_key("origin", "baserefspec");
    let _ = origin.remove_group("packages");
    if requested.is_empty() {
        origin.set_string("origin", "refspec", refspec);
    } else {
        origin.set_string("origin", "baserefspec", refspec);
        // A key-file string list: every item followed by ';' (names cannot contain one).
        let list: String = requested.iter().map(|p| format!("{p};")).collect();
        origin.set_value("packages", "requested", &list);
    }
    Ok(origin)
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
        _ => Err(Error::InvalidArgument(format!(
            "The origin refspec “{refspec}” names no remote, so there is nowhere to update from."
        ))),
    }
}

/// A deployment by index, id, or one of the words `booted`, `pending`, `rollback`.
pub fn resolve<'s>(status: &'s SystemStatus, spec: &str) -> Result<&'s Deployment> {
    status.find(spec).ok_or_else(|| {
        Error::NotFound(format!(
            "There is no deployment “{spec}”. Give an index from 0 to {}, an id as `keel-backend status` shows it, or booted, pending or rollback.",
            status.deployments.len().saturating_sub(1)
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
        Err(Error::InvalidArgument(format!(
            "“{name}” is not a package name: use letters, digits and . _ + - only."
        )))
    }
}

fn describe_short(d: &Deployment) -> String {
    match &d.version {
        Some(v) => format!("Deployment {} ({v})", d.index),
        None => format!("Deployment {} ({})", d.index, d.short_checksum()),
    }
}

/// Bytes used by the files under `dir`, each inode counted once (checkouts hard-link the repo).
/// Indices of the deployments a cleanup removes: never the booted or a pinned one.
fn cleanup_indices(status: &SystemStatus, what: CleanupSet) -> Vec<usize> {
    status
        .deployments
        .iter()
        .filter(|d| !d.booted && !d.pinned)
        .filter(|d| (what.pending && d.pending) || (what.rollback && !d.pending))
        .map(|d| d.index as usize)
        .collect()
}

/// Files by inode, as found among some paths (files, or folders with everything in them): their
/// links found there, their links in all, their allocated bytes (as `du` counts).
struct Usage(HashMap<(u64, u64), (u64, u64, u64)>);

impl Usage {
    fn of(paths: &[PathBuf]) -> Self {
        let mut files = HashMap::new();
        each_file(paths, &mut |meta| {
            let entry = files.entry((meta.dev(), meta.ino())).or_insert((
                0,
                meta.nlink(),
                meta.blocks() * 512,
            ));
            entry.0 += 1;
        });
        Self(files)
    }

    /// The files with every one of their links among the paths: deleting the paths frees them.
    fn exclusive(&self) -> impl Iterator<Item = (&(u64, u64), u64)> {
        self.0
            .iter()
            .filter(|(_, (here, links, _))| here >= links)
            .map(|(inode, (_, _, bytes))| (inode, *bytes))
    }

    /// The space deleting all the paths would free.
    fn exclusive_bytes(&self) -> u64 {
        self.exclusive().map(|(_, bytes)| bytes).sum()
    }

    /// Space that came free since `self` was taken: files gone that had no link elsewhere (a file
    /// also linked from outside still takes its space).
    fn freed_since(&self, now: &Usage) -> u64 {
        self.exclusive()
            .filter(|(inode, _)| !now.0.contains_key(*inode))
            .map(|(_, bytes)| bytes)
            .sum()
    }
}

/// Calls `visit` with every file (anything but a folder; links not followed) among `paths` and in
/// the folders among them, recursively. What cannot be read is skipped.
fn each_file(paths: &[PathBuf], visit: &mut dyn FnMut(&std::fs::Metadata)) {
    let mut folders = Vec::new();
    for path in paths {
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => folders.push(path.clone()),
            Ok(meta) => visit(&meta),
            Err(_) => {}
        }
    }
    while let Some(dir) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                folders.push(entry.path());
            } else {
                visit(&meta);
            }
        }
    }
}

fn config_diff(defaults: &Path, etc: &Path) -> Result<ConfigDiff> {
    fn collect(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if is_dir {
                collect(root, &path, out);
            } else {
                out.insert(relative);
            }
        }
    }
    let (mut old, mut new) = (BTreeSet::new(), BTreeSet::new());
    collect(defaults, defaults, &mut old);
    collect(etc, etc, &mut new);
    let same = |relative: &str| -> bool {
        let (a, b) = (defaults.join(relative), etc.join(relative));
        match (std::fs::symlink_metadata(&a), std::fs::symlink_metadata(&b)) {
            (Ok(ma), Ok(mb)) => {
                if ma.file_type().is_symlink() || mb.file_type().is_symlink() {
                    std::fs::read_link(&a).ok() == std::fs::read_link(&b).ok()
                } else {
                    ma.mode() == mb.mode() && std::fs::read(&a).ok() == std::fs::read(&b).ok()
                }
            }
            _ => false,
        }
    };
    Ok(ConfigDiff {
        modified: old
            .intersection(&new)
            .filter(|p| !same(p))
            .cloned()
            .collect(),
        added: new.difference(&old).cloned().collect(),
        removed: old.difference(&new).cloned().collect(),
    })
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
