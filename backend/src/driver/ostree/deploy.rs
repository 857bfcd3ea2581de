//! Changing what boots: checking for and deploying updates, rolling back, pinning, removing one
//! deployment, restarting, and the writes and pulls those share.

use std::collections::BTreeSet;

use ostree::{gio, glib};

use super::error::classify;
use super::usage::Usage;
use super::{
    BASE_REF_PREFIX, CommitInfo, Engine, copy_keyfile, describe_short, resolve, rollback_target,
};
use crate::driver::{Restart, UpdateOutcome, logind};
use crate::error::{Context, Error, Result};
use crate::model::{Deployment, SystemStatus, Update};
use crate::progress::Phases;
use keel_api::Operation;
use keel_api::i18n::{fill, gettext, ngettext};

impl Engine {
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
            .context(&gettext("Checking for updates"))?;
        self.refresh_package_source(&remote, cancel)?;
        let update = self.status()?.cached_update;
        phases.done(&match &update {
            Some(_) => gettext("An update is available"),
            None => gettext("The system is up to date"),
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
        let operation = if download_only {
            Operation::Download
        } else {
            Operation::Update
        };
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
                // Translators: a history entry of an update.
                UpdateOutcome::UpToDate => gettext("Already up to date"),
                // Translators: a history entry of a download of the update.
                UpdateOutcome::Downloaded { .. } => gettext("Downloaded; not deployed yet"),
                // Translators: a history entry of an update; it boots at the next restart.
                UpdateOutcome::Deployed { .. } => gettext("Deployed; boots next"),
            },
            diff,
        );
        result
    }

    pub(super) fn update_locked(
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
            .context(&gettext("Downloading the update"))?;
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
            phases.done(&gettext("The system is up to date"));
            return Ok(UpdateOutcome::UpToDate);
        }
        if download_only {
            phases.done(&gettext("Downloaded"));
            return Ok(UpdateOutcome::Downloaded { version });
        }
        let revision = if booted.requested_packages.is_empty() {
            tip.clone()
        } else {
            phases.at(
                0.6,
                0.75,
                0.0,
                // Translators: a progress phase; adding packages on top of the system image.
                &gettext("Layering"),
                &gettext("Applying layered packages"),
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
                .context(&gettext("Applying the layered packages to the new version"))?
        };
        let merge = self.ostree_deployment(&booted)?;
        let origin = merge.origin().map(|o| copy_keyfile(&o)).transpose()?;
        let id =
            self.deploy_and_write(&merge, &revision, origin.as_ref(), before, phases, cancel)?;
        phases.done(&gettext("Update deployed"));
        Ok(UpdateOutcome::Deployed { id, version })
    }

    /// Deploys `revision` to boot next and writes the new boot order: the new deployment, the booted
    /// one, its rollback and every pinned one.
    pub(super) fn deploy_and_write(
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
            // Translators: a progress phase.
            &gettext("Deploying"),
            &gettext("Checking out the new version and merging /etc"),
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
            .context(&gettext("Deploying"))?;
        phases.at(
            0.9,
            1.0,
            0.0,
            // Translators: a progress phase.
            &gettext("Writing boot entries"),
            &gettext("Updating the bootloader configuration"),
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
        Ok(super::deployment_id(&new))
    }

    /// Makes sure Keel's boot record still names the booted deployment after a rewrite.
    pub(super) fn record_booted_after_write(&self, before: &SystemStatus) -> Result<()> {
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
    pub(super) fn keep_bases(&self, list: &[ostree::Deployment]) -> Result<()> {
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
    pub(super) fn write(
        &self,
        list: &[ostree::Deployment],
        prune: bool,
        cancel: Option<&gio::Cancellable>,
    ) -> Result<()> {
        self.keep_bases(list)
            .context(&gettext("Keeping the base images of layered deployments"))?;
        let opts = ostree::SysrootWriteDeploymentsOpts {
            do_postclean: false,
        };
        self.sysroot
            .write_deployments_with_options(list, &opts, cancel)
            .context(&gettext("Writing the new boot order"))?;
        self.sysroot.load(gio::Cancellable::NONE)?;
        // The new boot order is written: from here on the operation has happened, and a prune
        // that is cancelled or fails must not turn it into "nothing was changed". A prune cut
        // short is safe, and the next one finishes it.
        if prune && let Err(err) = self.prune(cancel) {
            tracing::warn!("the deployments changed, but the repository was not pruned: {err}");
        }
        Ok(())
    }

    /// The commits a prune keeps (with what they reach): those of `deployments`, and every ref's
    /// but the deployment refs (`ostree/…`), which the cleanup regenerates from the deployments.
    pub(super) fn prune_roots(
        &self,
        deployments: &[ostree::Deployment],
    ) -> Result<BTreeSet<String>> {
        let mut keep: BTreeSet<String> = deployments.iter().map(|d| d.csum().to_string()).collect();
        for (name, checksum) in self.repo().list_refs(None, gio::Cancellable::NONE)? {
            if !name.starts_with("ostree/") {
                keep.insert(checksum);
            }
        }
        Ok(keep)
    }

    /// libostree's cleanup, made safe to interrupt: the commits it is about to delete are first
    /// marked partial, so a prune cut short leaves commits that say they are incomplete (which
    /// `ostree fsck` and pulls accept) rather than commits with missing trees.
    pub(super) fn prune(&self, cancel: Option<&gio::Cancellable>) -> Result<()> {
        let repo = self.repo();
        let keep = self.prune_roots(&self.deployments())?;
        for object in repo.list_commit_objects_starting_with(None, gio::Cancellable::NONE)? {
            let checksum = object.split('.').next().unwrap_or_default();
            if !keep.contains(checksum) {
                repo.mark_commit_partial(checksum, true)?;
            }
        }
        self.sysroot
            .cleanup(cancel)
            .context(&gettext("Cleaning up"))?;
        Ok(())
    }

    /// Makes a deployment boot next: the rollback one by default. Only the boot order changes.
    pub fn rollback(&self, target: Option<&str>, phases: &Phases) -> Result<Deployment> {
        let _lock = self.lock()?;
        let before = self.status()?;
        let result = self.rollback_locked(&before, target, phases);
        let to = result.as_ref().ok().and_then(|d| d.version.clone());
        self.journal(
            Operation::Rollback,
            &before,
            to,
            &result,
            |d| {
                fill(
                    // Translators: a history entry of a rollback; {version} is a version or a
                    // commit's short checksum.
                    &gettext("{version} boots next"),
                    &[("version", &crate::driver::name(d))],
                )
            },
            None,
        );
        result
    }

    pub(super) fn rollback_locked(
        &self,
        before: &SystemStatus,
        target: Option<&str>,
        phases: &Phases,
    ) -> Result<Deployment> {
        let list = &before.deployments;
        let chosen = match target {
            Some(spec) => resolve(before, spec)?,
            None => rollback_target(before).ok_or_else(|| {
                Error::InvalidArgument(gettext("There is no other deployment to roll back to."))
            })?,
        };
        if chosen.index == 0 {
            return Err(Error::InvalidArgument(fill(
                // Translators: {deployment} is "Deployment 1 (41.20261125.0)".
                &gettext("{deployment} already boots next."),
                &[("deployment", &describe_short(chosen))],
            )));
        }
        if list.iter().any(|d| d.staged) {
            return Err(Error::InvalidArgument(gettext(
                "An update is staged for the next boot; discard it first (Clean Up, pending deployment), then roll back.",
            )));
        }
        phases.at(
            0.0,
            1.0,
            0.2,
            // Translators: a progress phase.
            &gettext("Rolling back"),
            &gettext("Changing the boot order"),
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
        phases.done(&gettext("Rolled back"));
        let after = self.status()?;
        Ok(after.deployments[0].clone())
    }

    pub fn set_pinned(&self, spec: &str, pinned: bool) -> Result<Deployment> {
        let _lock = self.lock()?;
        let before = self.status()?;
        let operation = if pinned {
            Operation::Pin
        } else {
            Operation::Unpin
        };
        let result = (|| {
            let d = resolve(&before, spec)?;
            if d.staged {
                return Err(Error::InvalidArgument(gettext(
                    "A staged deployment cannot be pinned; restart into it first.",
                )));
            }
            if d.pinned != pinned {
                self.sysroot
                    .deployment_set_pinned(&self.ostree_deployment(d)?, pinned)
                    .context(&fill(
                        // Translators: {deployment} is "Deployment 1 (41.20261125.0)".
                        &gettext("Changing the pin of {deployment}"),
                        &[("deployment", &describe_short(d))],
                    ))?;
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
                let sentence = if pinned {
                    // Translators: a history entry; {deployment} is "Deployment 1 (41.20261125.0)".
                    gettext("{deployment} pinned")
                } else {
                    // Translators: a history entry; {deployment} is "Deployment 1 (41.20261125.0)".
                    gettext("{deployment} unpinned")
                };
                fill(&sentence, &[("deployment", &describe_short(d))])
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
                return Err(Error::InvalidArgument(fill(
                    // Translators: {deployment} is "Deployment 1 (41.20261125.0)".
                    &gettext("{deployment} is the booted deployment; it cannot be removed."),
                    &[("deployment", &describe_short(d))],
                )));
            }
            if d.pinned {
                return Err(Error::InvalidArgument(fill(
                    // Translators: {deployment} is "Deployment 1 (41.20261125.0)".
                    &gettext(
                        "{deployment} is pinned; unpin it first if you really want to remove it.",
                    ),
                    &[("deployment", &describe_short(d))],
                )));
            }
            self.remove_indices(&before, &[d.index as usize], true, cancel)
        })();
        self.journal_freed(Operation::Remove, &before, &result);
        result
    }

    pub(super) fn remove_indices(
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

    /// Restarts into the next-boot deployment. The running system restarts through logind,
    /// outside the sysroot lock (the shutdown must never find it held); elsewhere the restart is
    /// simulated: Keel's boot record names the next-boot deployment as booted.
    pub fn reboot(&self) -> Result<Restart> {
        if restart_is_real(self.sysroot.is_booted(), self.demo) {
            let before = self.status()?;
            let result = before
                .deployments
                .first()
                .cloned()
                .ok_or_else(|| Error::NotFound(gettext("This system has no deployments.")))
                .and_then(|next| logind::reboot().map(|()| Restart::Requested(next)));
            self.journal_restart(&before, &result);
            return result;
        }
        let _lock = self.lock()?;
        let before = self.status()?;
        let result = (|| {
            let first =
                self.deployments().into_iter().next().ok_or_else(|| {
                    Error::NotFound(gettext("This sysroot has no deployments yet."))
                })?;
            self.record_booted(&first)?;
            Ok(Restart::Simulated(self.status()?.deployments[0].clone()))
        })();
        self.journal_restart(&before, &result);
        result
    }

    fn journal_restart(&self, before: &SystemStatus, result: &Result<Restart>) {
        let to = result
            .as_ref()
            .ok()
            .and_then(|r| r.deployment().version.clone());
        self.journal(
            Operation::Reboot,
            before,
            to,
            result,
            Restart::message,
            None,
        );
    }

    pub(super) fn pull(
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
                        .unwrap_or_else(|| {
                            fill(
                                &ngettext(
                                    "{fetched} of {requested} object",
                                    "{fetched} of {requested} objects",
                                    requested,
                                ),
                                &[
                                    ("fetched", &fetched.to_string()),
                                    ("requested", &requested.to_string()),
                                ],
                            )
                        });
                    // Translators: a progress phase.
                    sink.at(span.0, span.1, within, &gettext("Downloading"), &message, (bytes, 0));
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
            .map_err(|_| Error::Failed(gettext("Could not set up the download.")))?
            // Errors without advice of their own come from data the server sent.
            .map_err(|err| {
                classify(&err).unwrap_or_else(|| {
                    Error::Failed(fill(
                        // Translators: {detail} is libostree’s own (English) reason.
                        &gettext(
                            "{detail}. The update server sent data that cannot be used; nothing was changed. Try again later, or tell the server’s maintainers.",
                        ),
                        &[("detail", err.message())],
                    ))
                })
            })?;
        phases.at(
            span.0,
            span.1,
            1.0,
            &gettext("Downloading"),
            &gettext("Downloaded"),
            (0, 0),
        );
        Ok(())
    }
}

/// Whether a restart restarts the computer: only on the running system, and never on the demo.
fn restart_is_real(sysroot_is_booted: bool, demo: bool) -> bool {
    sysroot_is_booted && !demo
}

#[cfg(test)]
mod tests {
    use super::restart_is_real;

    #[test]
    fn only_the_running_system_restarts_for_real() {
        assert!(restart_is_real(true, false));
        assert!(!restart_is_real(false, false), "a sysroot in a folder");
        assert!(!restart_is_real(false, true), "the demo");
        assert!(
            !restart_is_real(true, true),
            "the demo, whatever libostree says"
        );
    }
}
