//! Layering: the package source's index, and installing, uninstalling and resetting layered
//! packages by composing a client layer over the base image, as rpm-ostree does.

use ostree::{gio, glib, prelude::*};

use super::pkglist::{PKGLIST_KEY, pkglist_to_variant};
use super::{
    CLIENT_LAYER_KEY, CommitInfo, Engine, LAYERED_PACKAGES_KEY, PACKAGE_INDEX_KEY,
    PACKAGE_INDEX_REF, PACKAGE_REF_PREFIX, copy_keyfile, write_atomically,
};

/// In the state folder: the remote the last check found without a package source.
const NO_PACKAGE_SOURCE_FILE: &str = "no-package-source";
use crate::driver::validate_package_name;
use crate::error::{Context, Error, Result};
use crate::model::{AvailablePackage, SystemStatus};
use crate::progress::Phases;
use keel_api::Operation;
use keel_api::i18n::{fill, gettext};

impl Engine {
    /// Packages the booted deployment's remote offers for layering (from its summary).
    pub fn available_packages(&self) -> Result<Vec<AvailablePackage>> {
        let status = self.status()?;
        let (remote, _) = self.booted_refspec(&status)?;
        self.package_index(&remote)
    }

    /// Whether the booted deployment's remote offers a package source. A remote on a local path
    /// is asked directly (one ref lookup); a network remote is never contacted here, a status must
    /// stay fast: it offers one unless the last check found none (until a check, listing the
    /// packages asks the remote, so Add is offered rather than hidden on a guess).
    pub(super) fn offers_package_source(&self, repo: &ostree::Repo, status: &SystemStatus) -> bool {
        let Ok((remote, _)) = self.booted_refspec(status) else {
            return false;
        };
        let url = repo
            .remote_get_url(&remote)
            .map(|u| u.to_string())
            .unwrap_or_default();
        let has_index =
            |repo: &ostree::Repo, rev: &str| matches!(repo.resolve_rev(rev, true), Ok(Some(_)));
        let Some(path) = url.strip_prefix("file://") else {
            return has_index(repo, &format!("{remote}:{PACKAGE_INDEX_REF}"))
                || !self.found_without_package_source(&remote);
        };
        let mut cached = self.local_remote.borrow_mut();
        if cached.as_ref().is_none_or(|(opened, _)| *opened != url) {
            let source = ostree::Repo::new_for_path(path);
            if source.open(gio::Cancellable::NONE).is_err() {
                return false;
            }
            *cached = Some((url.clone(), source));
        }
        cached
            .as_ref()
            .is_some_and(|(_, source)| has_index(source, PACKAGE_INDEX_REF))
    }

    /// Brings the local copy of the package source's index up to date after the remote answered a
    /// check: fetched when it offers one, forgotten when it does not (any failure but a
    /// cancellation means the remote has none, as its branch was just fetched from it).
    pub(super) fn refresh_package_source(
        &self,
        remote: &str,
        cancel: Option<&gio::Cancellable>,
    ) -> Result<()> {
        let phases = Phases::new(std::sync::Arc::new(crate::progress::Silent));
        match self.pull(
            remote,
            &[PACKAGE_INDEX_REF],
            true,
            &phases,
            (0.0, 0.0),
            cancel,
        ) {
            Err(err @ Error::Cancelled(_)) => Err(err),
            Err(err) => {
                tracing::debug!("remote {remote} offers no package source: {err}");
                self.repo().set_ref_immediate(
                    Some(remote),
                    PACKAGE_INDEX_REF,
                    None,
                    gio::Cancellable::NONE,
                )?;
                write_atomically(&self.no_package_source_path(), remote.as_bytes())
            }
            Ok(()) => match std::fs::remove_file(self.no_package_source_path()) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err.into()),
                _ => Ok(()),
            },
        }
    }

    /// Where the last check notes the remote it found without a package source.
    fn no_package_source_path(&self) -> std::path::PathBuf {
        self.state_dir().join(NO_PACKAGE_SOURCE_FILE)
    }

    fn found_without_package_source(&self, remote: &str) -> bool {
        std::fs::read_to_string(self.no_package_source_path()).is_ok_and(|r| r == remote)
    }

    /// Reads the package source's index: the metadata of the commit on `packages/index`, fetched
    /// on its own (commit metadata only, so it costs one small download).
    pub(super) fn package_index(&self, remote: &str) -> Result<Vec<AvailablePackage>> {
        let phases = Phases::new(std::sync::Arc::new(crate::progress::Silent));
        self.pull(
            remote,
            &[PACKAGE_INDEX_REF],
            true,
            &phases,
            (0.0, 0.0),
            None,
        )
        .context(&fill(
            // Translators: {remote} is the name of an OSTree remote (where updates come from).
            &gettext("Reading the package list of remote “{remote}”"),
            &[("remote", remote)],
        ))?;
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

    /// Layers packages on the booted deployment's base (no base update), as a new pending deployment.
    pub fn install(
        &self,
        names: &[String],
        phases: &Phases,
        cancel: Option<&gio::Cancellable>,
    ) -> Result<String> {
        self.change_packages(
            Operation::Install,
            names,
            phases,
            cancel,
            |requested, names| {
                for name in names {
                    if requested.contains(name) {
                        return Err(Error::InvalidArgument(fill(
                            // Translators: {name} is a package’s name.
                            &gettext("{name} is already layered."),
                            &[("name", name)],
                        )));
                    }
                    requested.push(name.clone());
                }
                Ok(())
            },
        )
    }

    pub fn uninstall(
        &self,
        names: &[String],
        phases: &Phases,
        cancel: Option<&gio::Cancellable>,
    ) -> Result<String> {
        self.change_packages(
            Operation::Uninstall,
            names,
            phases,
            cancel,
            |requested, names| {
                for name in names {
                    let Some(at) = requested.iter().position(|r| r == name) else {
                        return Err(Error::NotFound(fill(
                            // Translators: {name} is a package’s name.
                            &gettext("{name} is not layered, so it cannot be removed."),
                            &[("name", name)],
                        )));
                    };
                    requested.remove(at);
                }
                Ok(())
            },
        )
    }

    pub fn reset_packages(
        &self,
        phases: &Phases,
        cancel: Option<&gio::Cancellable>,
    ) -> Result<String> {
        self.change_packages(
            Operation::ResetPackages,
            &[],
            phases,
            cancel,
            |requested, _| {
                if requested.is_empty() {
                    return Err(Error::InvalidArgument(gettext("No packages are layered.")));
                }
                requested.clear();
                Ok(())
            },
        )
    }

    pub(super) fn change_packages(
        &self,
        operation: Operation,
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
                        return Err(Error::NotFound(fill(
                            // Translators: {name} is a package’s name, {remote} an OSTree
                            // remote's, {available} a list of package names.
                            &gettext(
                                "There is no package “{name}” in the package source of remote “{remote}”. Available: {available}.",
                            ),
                            &[
                                ("name", name),
                                ("remote", &remote),
                                ("available", &names.join(", ")),
                            ],
                        )));
                    }
                }
                self.pull_packages(&remote, &requested, phases, (0.0, 0.5), cancel)?;
                phases.at(
                    0.5,
                    0.75,
                    0.0,
                    // Translators: a progress phase; adding packages on top of the system image.
                    &gettext("Layering"),
                    &gettext("Composing the layered image"),
                    (0, 0),
                );
                self.compose_layer(&remote, &base, &requested)?
            };
            let merge = self.ostree_deployment(&booted)?;
            let origin = layered_origin(&merge, &format!("{remote}:{branch}"), &requested)?;
            let id =
                self.deploy_and_write(&merge, &revision, Some(&origin), &before, phases, cancel)?;
            phases.done(&gettext(
                "Packages changed; they take effect at the next boot",
            ));
            Ok(id)
        })();
        self.journal(
            operation,
            &before,
            None,
            &result,
            |_| {
                if names.is_empty() {
                    // Translators: a history entry.
                    gettext("All layered packages removed")
                } else {
                    names.join(", ")
                }
            },
            None,
        );
        result
    }

    pub(super) fn pull_packages(
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
            .context(&gettext("Downloading the layered packages"))
    }

    /// Writes a commit of `base` with the packages' trees laid over it, as rpm-ostree's client
    /// layer does: parent = base, the merged package list, and the layering keys.
    pub(super) fn compose_layer(
        &self,
        remote: &str,
        base: &str,
        names: &[String],
    ) -> Result<String> {
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

/// The origin of a deployment with `requested` layered: rpm-ostree's form, `baserefspec` plus
/// `[packages] requested=` when there are packages, plain `refspec` when there are none.
pub(super) fn layered_origin(
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
