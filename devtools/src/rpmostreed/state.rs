//! What the double's properties say, computed from the real sysroot as rpm-ostreed computes them
//! (`rpmostreed_deployment_generate_variant`, `deployment_populate_variant`): every key with the
//! GVariant type the recordings show, empty containers typed (`@a{sv} {}`, `@av []`).
//!
//! Two things a test sysroot cannot have are simulated in files beside Keel's own state:
//! `staged` (libostree stages only on a booted system: the double marks the deployment its
//! Upgrade or PkgChange made) and the cached update (rpm-ostreed keeps it in
//! /var/cache/rpm-ostree/cached-update.gv).

use std::path::{Path, PathBuf};

use keel_api::packages::{Package, PackageDiff};
use keel_backend::driver::SystemDriver;
use keel_backend::driver::ostree::OstreeDriver;
use ostree::{gio, glib, prelude::*};

/// The double's own files inside the sysroot.
pub const STATE_DIR: &str = "ostree/keel-rpmostreed-double";
const STAGED_FILE: &str = "staged";
const CACHED_UPDATE_FILE: &str = "cached-update.gv";
/// Commit metadata rpm-ostreed leaves out of `base-commit-meta` (it promotes or drops them).
const FILTERED_META: &[&str] = &[
    "rpmostree.rpmdb.pkglist",
    "rpmostree.advisories",
    "rpmostree.packages",
    "rpmostree.modules",
    "rpmostree.spec",
    "rpmostree.removed-base-packages",
    "rpmostree.replaced-base-packages",
    "rpmostree.replaced-base-remote-packages",
];

/// An error as rpm-ostreed reports it: the GIO error code it would carry and its sentence.
#[derive(Debug, Clone)]
pub struct Fail {
    pub code: u32,
    pub message: String,
}

impl Fail {
    /// `G_IO_ERROR_FAILED` (code 0), how rpm-ostreed throws most errors.
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            code: 0,
            message: message.into(),
        }
    }
}

impl From<glib::Error> for Fail {
    fn from(err: glib::Error) -> Self {
        Self::failed(err.message())
    }
}

impl From<keel_backend::Error> for Fail {
    fn from(err: keel_backend::Error) -> Self {
        Self::failed(err.message())
    }
}

pub type Res<T> = Result<T, Fail>;

/// Every property value of the Sysroot and the OS object.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub osname: String,
    /// `a{sv}` each, in boot order.
    pub deployments: Vec<glib::Variant>,
    pub booted: glib::Variant,
    pub default: glib::Variant,
    pub rollback: glib::Variant,
    pub cached_update: glib::Variant,
}

impl Snapshot {
    pub fn has_cached_update(&self) -> bool {
        self.cached_update.n_children() > 0
    }
}

pub fn empty_dict() -> glib::Variant {
    glib::VariantDict::new(None).end()
}

/// The sysroot the double manages: Keel's driver for the changes, libostree for the reading.
pub struct Backend {
    pub path: PathBuf,
    pub driver: OstreeDriver,
    pub sysroot: ostree::Sysroot,
    /// Advisories to add to the cached update, `a(suuasa{sv})` (a test hook).
    pub advisories: Option<glib::Variant>,
}

/// One deployment as the double reads it.
pub struct Row {
    pub deployment: ostree::Deployment,
    pub id: String,
    pub booted: bool,
    pub staged: bool,
}

impl Backend {
    pub fn open(path: &Path, advisories: Option<glib::Variant>) -> Res<Self> {
        let driver = OstreeDriver::open(path, false)?;
        let sysroot = ostree::Sysroot::new(Some(&gio::File::for_path(path)));
        sysroot.load(gio::Cancellable::NONE)?;
        Ok(Self {
            path: path.to_owned(),
            driver,
            sysroot,
            advisories,
        })
    }

    pub fn repo(&self) -> ostree::Repo {
        self.sysroot.repo()
    }

    fn state_file(&self, name: &str) -> PathBuf {
        self.path.join(STATE_DIR).join(name)
    }

    /// Re-reads the sysroot when it changed on disk; true when it did.
    pub fn reload(&self) -> Res<bool> {
        self.driver.reload()?;
        self.repo().reload_config(gio::Cancellable::NONE)?;
        Ok(self.sysroot.load_if_changed(gio::Cancellable::NONE)?)
    }

    /// The deployments in boot order, which one is booted (Keel's record on a test sysroot) and
    /// which one the double staged.
    pub fn rows(&self) -> Res<Vec<Row>> {
        self.reload()?;
        let status = self.driver.status()?;
        let booted = status.booted().map(|d| d.id.clone());
        let staged_mark = std::fs::read_to_string(self.state_file(STAGED_FILE)).ok();
        Ok(self
            .sysroot
            .deployments()
            .into_iter()
            .enumerate()
            .map(|(index, deployment)| {
                let id = deployment_id(&deployment);
                let is_booted = booted.as_deref() == Some(id.as_str());
                // Staged means: made by the double, first, and not yet booted.
                let staged = index == 0 && !is_booted && staged_mark.as_deref() == Some(&id);
                Row {
                    deployment,
                    id,
                    booted: is_booted,
                    staged,
                }
            })
            .collect())
    }

    pub fn snapshot(&self) -> Res<Snapshot> {
        let rows = self.rows()?;
        let repo = self.repo();
        let mut deployments = Vec::with_capacity(rows.len());
        for row in &rows {
            deployments.push(self.deployment_variant(&repo, row)?);
        }
        let booted_index = rows.iter().position(|r| r.booted);
        let pick = |i: Option<usize>| {
            i.and_then(|i| deployments.get(i).cloned())
                .unwrap_or_else(empty_dict)
        };
        let osname = rows
            .iter()
            .find(|r| r.booted)
            .or(rows.first())
            .map(|r| r.deployment.osname().to_string())
            .unwrap_or_default();
        let booted_checksum = booted_index.map(|i| rows[i].deployment.csum().to_string());
        Ok(Snapshot {
            osname,
            booted: pick(booted_index),
            default: pick((!rows.is_empty()).then_some(0)),
            rollback: pick(booted_index.map(|b| b + 1)),
            cached_update: self.cached_update(booted_checksum.as_deref()),
            deployments,
        })
    }

    fn deployment_variant(&self, repo: &ostree::Repo, row: &Row) -> Res<glib::Variant> {
        let d = &row.deployment;
        let dict = glib::VariantDict::new(None);
        dict.insert("id", row.id.as_str());
        dict.insert("osname", d.osname().as_str());
        dict.insert("checksum", d.csum().as_str());
        dict.insert("serial", d.deployserial());
        dict.insert("booted", row.booted);
        dict.insert("staged", row.staged);
        dict.insert("pinned", d.is_pinned());
        let unlocked = ostree::Deployment::unlocked_state_to_string(d.unlocked());
        dict.insert("unlocked", unlocked.as_str());
        let origin = d.origin();
        for (key, origin_key) in [
            ("requested-packages", "requested"),
            ("requested-local-packages", "requested-local"),
            (
                "requested-local-fileoverride-packages",
                "requested-local-fileoverride",
            ),
        ] {
            let list = origin
                .as_ref()
                .map(|o| origin_list(o, "packages", origin_key))
                .unwrap_or_default();
            dict.insert(key, list);
        }
        for (key, origin_key) in [
            ("requested-base-removals", "remove"),
            ("requested-base-local-replacements", "replace-local"),
        ] {
            let list = origin
                .as_ref()
                .map(|o| origin_list(o, "overrides", origin_key))
                .unwrap_or_default();
            dict.insert(key, list);
        }
        dict.insert("regenerate-initramfs", false);

        let checksum = d.csum().to_string();
        let commit = repo.load_variant(ostree::ObjectType::Commit, &checksum)?;
        let meta = commit.child_value(0);
        let meta_dict = glib::VariantDict::new(Some(&meta));
        let layered = meta_dict
            .lookup::<bool>("rpmostree.clientlayer")
            .ok()
            .flatten()
            .unwrap_or(false);
        let (base_checksum, base_commit) = match ostree::commit_get_parent(&commit) {
            Some(parent) if layered => {
                let base = repo.load_variant(ostree::ObjectType::Commit, &parent)?;
                dict.insert("base-checksum", parent.as_str());
                commit_details(&dict, "base-", &base);
                dict.insert_value("layered-commit-meta", &filter_meta(&meta));
                (parent.to_string(), base)
            }
            _ => (checksum.clone(), commit.clone()),
        };
        dict.insert_value(
            "base-commit-meta",
            &filter_meta(&base_commit.child_value(0)),
        );
        commit_details(&dict, "", &commit);

        if let Some(refspec) = origin.as_ref().and_then(origin_refspec) {
            dict.insert("origin", refspec.as_str());
            let remote = refspec.split_once(':').map(|(r, _)| r.to_owned());
            let gpg = remote
                .as_deref()
                .and_then(|r| repo.remote_get_gpg_verify(r).ok())
                .unwrap_or(false);
            dict.insert("gpg-enabled", gpg);
            if let Ok(Some(pending)) = repo.resolve_rev(&refspec, true)
                && pending.as_str() != base_checksum
                && let Ok(pending_commit) = repo.load_variant(ostree::ObjectType::Commit, &pending)
            {
                dict.insert("pending-base-checksum", pending.as_str());
                commit_details(&dict, "pending-base-", &pending_commit);
            }
        }
        let packages: Vec<String> = meta_dict
            .lookup::<Vec<String>>("rpmostree.packages")
            .ok()
            .flatten()
            .unwrap_or_default();
        dict.insert("packages", packages);
        let no_variants: [glib::Variant; 0] = [];
        dict.insert_value(
            "base-removals",
            &glib::Variant::array_from_iter_with_type(glib::VariantTy::VARIANT, no_variants.iter()),
        );
        dict.insert_value(
            "base-local-replacements",
            &glib::Variant::array_from_iter_with_type(
                glib::VariantTy::new("(vv)").expect("a type"),
                no_variants.iter(),
            ),
        );
        dict.insert_value("base-remote-replacements", &empty_dict());
        Ok(dict.end())
    }

    // ---- the cached update ---------------------------------------------------------------------

    /// The update rpm-ostreed remembers, while it was computed against the booted deployment.
    fn cached_update(&self, booted_checksum: Option<&str>) -> glib::Variant {
        let text = std::fs::read_to_string(self.state_file(CACHED_UPDATE_FILE)).ok();
        text.and_then(|t| glib::Variant::parse(None, &t).ok())
            .filter(|v| {
                let sha = glib::VariantDict::new(Some(v))
                    .lookup::<String>("update-sha256")
                    .ok()
                    .flatten();
                sha.is_some() && sha.as_deref() == booted_checksum
            })
            .unwrap_or_else(empty_dict)
    }

    /// Works out and stores the cached update after a check or an upgrade: the branch's tip
    /// against the booted deployment (`deployment` names the deployment an upgrade staged).
    /// Nothing is stored when the tip is what is booted.
    pub fn write_cached_update(&self, deployment: Option<&str>) -> Res<()> {
        let rows = self.rows()?;
        let Some(booted) = rows.iter().find(|r| r.booted) else {
            return Ok(());
        };
        let Some(refspec) = booted.deployment.origin().as_ref().and_then(origin_refspec) else {
            return Ok(());
        };
        let repo = self.repo();
        let file = self.state_file(CACHED_UPDATE_FILE);
        let booted_csum = booted.deployment.csum().to_string();
        let Some(tip) = repo.resolve_rev(&refspec, true)? else {
            return Ok(());
        };
        let base = self.base_of(&repo, &booted_csum)?;
        if tip.as_str() == base {
            let _ = std::fs::remove_file(&file);
            return Ok(());
        }
        let dict = glib::VariantDict::new(None);
        dict.insert("update-sha256", booted_csum.as_str());
        let details = self.commit_details_dict(&repo, &refspec, &tip)?;
        for entry in details.iter() {
            let key = entry.child_value(0);
            let value = entry.child_value(1).as_variant().expect("a{sv}");
            dict.insert_value(key.str().unwrap_or_default(), &value);
        }
        dict.insert("ref-has-new-commit", true);
        let diff = self.diff(&base, &tip)?;
        dict.insert_value("rpm-diff", &cached_rpm_diff(&diff));
        if let Some(id) = deployment {
            dict.insert("deployment", id);
        }
        if let Some(advisories) = self.advisories.as_ref().filter(|a| a.n_children() > 0) {
            dict.insert_value("advisories", advisories);
        }
        let text = dict.end().print(true);
        write_file(&file, text.as_bytes())
    }

    /// `osname`, `checksum`, `version`, `timestamp`, `origin`, `gpg-enabled` of a commit on a
    /// refspec: the details of GetCachedUpdateRpmDiff and the head of the cached update.
    pub fn commit_details_dict(
        &self,
        repo: &ostree::Repo,
        refspec: &str,
        checksum: &str,
    ) -> Res<glib::Variant> {
        let commit = repo.load_variant(ostree::ObjectType::Commit, checksum)?;
        let dict = glib::VariantDict::new(None);
        let osname = self
            .sysroot
            .deployments()
            .first()
            .map(|d| d.osname().to_string())
            .unwrap_or_default();
        dict.insert("osname", osname.as_str());
        dict.insert("checksum", checksum);
        commit_details(&dict, "", &commit);
        dict.insert("origin", refspec);
        let remote = refspec.split_once(':').map(|(r, _)| r).unwrap_or_default();
        dict.insert(
            "gpg-enabled",
            repo.remote_get_gpg_verify(remote).unwrap_or(false),
        );
        Ok(dict.end())
    }

    pub fn set_staged(&self, id: Option<&str>) -> Res<()> {
        let file = self.state_file(STAGED_FILE);
        match id {
            Some(id) => write_file(&file, id.as_bytes()),
            None => match std::fs::remove_file(&file) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                    Err(Fail::failed(err.to_string()))
                }
                _ => Ok(()),
            },
        }
    }

    // ---- packages ------------------------------------------------------------------------------

    /// The base commit of a commit: its parent when it is a client layer.
    pub fn base_of(&self, repo: &ostree::Repo, checksum: &str) -> Res<String> {
        let commit = repo.load_variant(ostree::ObjectType::Commit, checksum)?;
        let layered = glib::VariantDict::new(Some(&commit.child_value(0)))
            .lookup::<bool>("rpmostree.clientlayer")
            .ok()
            .flatten()
            .unwrap_or(false);
        Ok(match ostree::commit_get_parent(&commit) {
            Some(parent) if layered => parent.to_string(),
            _ => checksum.to_owned(),
        })
    }

    pub fn packages(&self, checksum: &str) -> Res<Vec<Package>> {
        Ok(self.driver.packages(checksum)?)
    }

    pub fn diff(&self, from: &str, to: &str) -> Res<PackageDiff> {
        Ok(PackageDiff::between(
            &self.packages(from)?,
            &self.packages(to)?,
        ))
    }
}

/// `a(sua{sv})`: what GetDeploymentsRpmDiff and GetCachedUpdateRpmDiff return, where the u is
/// the change (0 added, 1 removed, 2 upgraded, 3 downgraded).
pub fn method_rpm_diff(diff: &PackageDiff) -> glib::Variant {
    let pkg = |name: &str, evr: &str, arch: &str| (name, evr, arch).to_variant();
    let entry = |name: &str, kind: u32, fields: &[(&str, glib::Variant)]| {
        let dict = glib::VariantDict::new(None);
        for (key, value) in fields {
            dict.insert_value(key, value);
        }
        glib::Variant::tuple_from_iter([name.to_variant(), kind.to_variant(), dict.end()])
    };
    let mut entries = Vec::new();
    for p in &diff.added {
        let new = pkg(&p.name, &p.evr(), &p.arch);
        entries.push(entry(&p.name, 0, &[("NewPackage", new)]));
    }
    for p in &diff.removed {
        let old = pkg(&p.name, &p.evr(), &p.arch);
        entries.push(entry(&p.name, 1, &[("PreviousPackage", old)]));
    }
    for (kind, changes) in [(2, &diff.upgraded), (3, &diff.downgraded)] {
        for c in changes {
            let old = pkg(&c.name, &c.old_evr, &c.arch);
            let new = pkg(&c.name, &c.new_evr, &c.arch);
            entries.push(entry(
                &c.name,
                kind,
                &[("PreviousPackage", old), ("NewPackage", new)],
            ));
        }
    }
    glib::Variant::array_from_iter_with_type(
        glib::VariantTy::new("(sua{sv})").expect("a type"),
        entries,
    )
}

/// The cached update's `rpm-diff`: `upgraded`/`downgraded` as `a(us(ss)(ss))`, `added`/`removed`
/// as `a(usss)`, where the u is the package type (0 = base).
fn cached_rpm_diff(diff: &PackageDiff) -> glib::Variant {
    let changed = |list: &[keel_api::packages::PackageChange]| {
        let items: Vec<glib::Variant> = list
            .iter()
            .map(|c| {
                (
                    0u32,
                    c.name.as_str(),
                    (c.old_evr.as_str(), c.arch.as_str()),
                    (c.new_evr.as_str(), c.arch.as_str()),
                )
                    .to_variant()
            })
            .collect();
        glib::Variant::array_from_iter_with_type(
            glib::VariantTy::new("(us(ss)(ss))").expect("a type"),
            items,
        )
    };
    let single = |list: &[Package]| {
        let items: Vec<glib::Variant> = list
            .iter()
            .map(|p| (0u32, p.name.as_str(), p.evr().as_str(), p.arch.as_str()).to_variant())
            .collect();
        glib::Variant::array_from_iter_with_type(
            glib::VariantTy::new("(usss)").expect("a type"),
            items,
        )
    };
    let dict = glib::VariantDict::new(None);
    dict.insert_value("upgraded", &changed(&diff.upgraded));
    dict.insert_value("downgraded", &changed(&diff.downgraded));
    dict.insert_value("removed", &single(&diff.removed));
    dict.insert_value("added", &single(&diff.added));
    dict.end()
}

/// `version` (when the commit has one) and `timestamp`, under `prefix`.
fn commit_details(dict: &glib::VariantDict, prefix: &str, commit: &glib::Variant) {
    let meta = glib::VariantDict::new(Some(&commit.child_value(0)));
    if let Ok(Some(version)) = meta.lookup::<String>("version") {
        dict.insert(&format!("{prefix}version"), version.as_str());
    }
    dict.insert(
        &format!("{prefix}timestamp"),
        ostree::commit_get_timestamp(commit),
    );
}

fn filter_meta(meta: &glib::Variant) -> glib::Variant {
    let dict = glib::VariantDict::new(Some(meta));
    for key in FILTERED_META {
        dict.remove(key);
    }
    dict.end()
}

pub fn origin_refspec(origin: &glib::KeyFile) -> Option<String> {
    origin
        .string("origin", "refspec")
        .or_else(|_| origin.string("origin", "baserefspec"))
        .ok()
        .map(|s| s.to_string())
}

fn origin_list(origin: &glib::KeyFile, group: &str, key: &str) -> Vec<String> {
    origin
        .string_list(group, key)
        .map(|list| {
            list.iter()
                .map(|s| s.to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// `osname-checksum.serial`, rpm-ostree's deployment id.
pub fn deployment_id(d: &ostree::Deployment) -> String {
    format!("{}-{}.{}", d.osname(), d.csum(), d.deployserial())
}

fn write_file(path: &Path, contents: &[u8]) -> Res<()> {
    keel_backend::driver::ostree::write_atomically(path, contents).map_err(Fail::from)
}
