//! Keel's demo system: a real sysroot and a real archive-mode remote, made by libostree, in a folder
//! the user owns. Only the content is invented ("Keel Demo OS"); every operation on it is real.
//!
//! Layout: `DIR/remote` (the update server's repository, archive mode) and `DIR/sysroot` (the system,
//! following `keeldemo:keeldemo/stable/x86_64` from that remote), and `DIR/flatpak` (the demo's
//! Flatpak repository and installation, see [`apps`]).

pub mod apps;
pub mod content;
pub mod flatpak;

use std::path::{Path, PathBuf};

use ostree::{gio, glib, prelude::*};

use crate::driver::ostree::pkglist::{PKGLIST_KEY, pkglist_to_variant};
use crate::driver::ostree::{PACKAGE_INDEX_KEY, PACKAGE_INDEX_REF, PACKAGE_REF_PREFIX};
use crate::error::{Context, Error, Result};
use content::{FileContents, TreeFile};

pub const STATEROOT: &str = "keeldemo";
pub const REMOTE: &str = "keeldemo";
pub const BRANCH: &str = "keeldemo/stable/x86_64";
/// Commit metadata: which demo version a commit is, so `publish` knows what comes next.
const NUMBER_KEY: &str = "keel.demo-number";
/// How many versions a new demo has on its remote; all but the last are deployed.
const INITIAL_VERSIONS: u32 = 3;

/// `$XDG_DATA_HOME/keel/demo`.
pub fn default_dir() -> PathBuf {
    glib::user_data_dir().join(crate::dbus::DEMO_DIR)
}

pub fn sysroot_dir(dir: &Path) -> PathBuf {
    dir.join(crate::dbus::DEMO_SYSROOT)
}

pub fn remote_dir(dir: &Path) -> PathBuf {
    dir.join("remote")
}

pub fn exists(dir: &Path) -> bool {
    sysroot_dir(dir).join("ostree/repo").is_dir() && remote_dir(dir).join("config").is_file()
}

/// Creates the demo in `dir`: versions 1 and 2 deployed (2 booted, 1 its rollback) and version 3
/// waiting on the remote, and its Flatpaks (when the `flatpak` command is there). Built in a
/// scratch folder beside `dir` and moved into place whole, so an interrupted init leaves nothing
/// half-made.
pub fn init(dir: &Path) -> Result<()> {
    create(dir, true)
}

/// Like [`init`] without the Flatpaks: the OS side alone (its tests, which need no apps).
pub fn init_without_apps(dir: &Path) -> Result<()> {
    create(dir, false)
}

fn create(dir: &Path, with_apps: bool) -> Result<()> {
    if exists(dir) {
        return Err(Error::InvalidArgument(format!(
            "A demo system already exists in {}; `keel-backend demo remove` deletes it.",
            dir.display()
        )));
    }
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(Error::InvalidArgument(format!(
            "{} exists and is not an empty folder; choose another with --dir.",
            dir.display()
        )));
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let scratch = tempfile::Builder::new()
        .prefix(".keel-demo-")
        .tempdir_in(parent)
        .context("Creating the demo system")?;
    build(scratch.path(), dir, with_apps).context("Creating the demo system")?;
    if dir.exists() {
        std::fs::remove_dir(dir)?;
    }
    std::fs::rename(scratch.keep(), dir).context("Moving the demo system into place")?;
    Ok(())
}

fn build(work: &Path, final_dir: &Path, with_apps: bool) -> Result<()> {
    let remote = ostree::Repo::new_for_path(remote_dir(work));
    remote.create(ostree::RepoMode::Archive, gio::Cancellable::NONE)?;

    // The URL names the final place: the scratch folder is renamed there before anything pulls.
    let url = format!("file://{}", remote_dir(final_dir).display());
    let sysroot = init_sysroot(&sysroot_dir(work), STATEROOT, REMOTE, &url)?;
    // While building, pull from the scratch copy under the same remote name.
    let scratch_url = format!("file://{}", remote_dir(work).display());
    for number in 1..INITIAL_VERSIONS {
        commit_version(&remote, number)?;
        deploy_branch(&sysroot, STATEROOT, REMOTE, BRANCH, Some(&scratch_url))?;
    }
    commit_version(&remote, INITIAL_VERSIONS)?;
    commit_packages(&remote)?;
    if with_apps {
        apps::init(work, final_dir)?;
    }
    Ok(())
}

/// Deletes a sysroot folder. libostree marks deployment trees immutable, which a plain recursive
/// delete cannot undo; libostree itself lifts the mark first.
pub fn remove_tree(dir: &Path) -> Result<()> {
    let sysroot_path = if dir.join("ostree/repo").is_dir() {
        dir.to_owned()
    } else {
        sysroot_dir(dir)
    };
    if sysroot_path.join("ostree/repo").is_dir() {
        let sysroot = ostree::Sysroot::new(Some(&gio::File::for_path(&sysroot_path)));
        sysroot.load(gio::Cancellable::NONE)?;
        for deployment in sysroot.deployments() {
            sysroot.deployment_set_mutable(&deployment, true, gio::Cancellable::NONE)?;
        }
    }
    std::fs::remove_dir_all(dir).map_err(|err| {
        Error::Failed(format!(
            "Could not remove {} ({err}). If a deployment there is still marked immutable, run `chattr -R -i` on it first.",
            dir.display()
        ))
    })
}

/// Makes an empty sysroot at `path` with one stateroot and a remote (no GPG: the demo is local).
pub fn init_sysroot(
    path: &Path,
    stateroot: &str,
    remote: &str,
    url: &str,
) -> Result<ostree::Sysroot> {
    std::fs::create_dir_all(path)?;
    let sysroot = ostree::Sysroot::new(Some(&gio::File::for_path(path)));
    sysroot.ensure_initialized(gio::Cancellable::NONE)?;
    sysroot.load(gio::Cancellable::NONE)?;
    sysroot.init_osname(stateroot, gio::Cancellable::NONE)?;
    sysroot.load(gio::Cancellable::NONE)?;
    let options = glib::VariantDict::new(None);
    options.insert_value("gpg-verify", &false.to_variant());
    sysroot.repo().remote_add(
        remote,
        Some(url),
        Some(&options.end()),
        gio::Cancellable::NONE,
    )?;
    Ok(sysroot)
}

/// Pulls the branch's tip (from `url` instead of the remote's own when given) and deploys it in
/// front of the current deployments, keeping them all.
pub fn deploy_branch(
    sysroot: &ostree::Sysroot,
    stateroot: &str,
    remote: &str,
    branch: &str,
    url: Option<&str>,
) -> Result<()> {
    let repo = sysroot.repo();
    let pull_options = glib::VariantDict::new(None);
    pull_options.insert_value("refs", &vec![branch.to_owned()].to_variant());
    if let Some(url) = url {
        pull_options.insert_value("override-url", &url.to_variant());
    }
    repo.pull_with_options(remote, &pull_options.end(), None, gio::Cancellable::NONE)?;
    let refspec = format!("{remote}:{branch}");
    let revision = repo.require_rev(&refspec)?;
    let merge = sysroot.deployments().into_iter().next();
    let origin = sysroot.origin_new_from_refspec(&refspec);
    let deployment = sysroot.deploy_tree_with_options(
        Some(stateroot),
        &revision,
        Some(&origin),
        merge.as_ref(),
        None,
        gio::Cancellable::NONE,
    )?;
    let mut list = vec![deployment];
    list.extend(sysroot.deployments());
    sysroot.write_deployments(&list, gio::Cancellable::NONE)?;
    sysroot.load(gio::Cancellable::NONE)?;
    Ok(())
}

/// Adds the next version to the demo's remote, so an update can be tried again; returns it.
pub fn publish(dir: &Path) -> Result<String> {
    if !exists(dir) {
        return Err(Error::NotFound(format!(
            "There is no demo system in {}; create it with `keel-backend demo init`.",
            dir.display()
        )));
    }
    let remote = ostree::Repo::new_for_path(remote_dir(dir));
    remote.open(gio::Cancellable::NONE)?;
    let tip = remote.require_rev(BRANCH)?;
    let commit = remote.load_variant(ostree::ObjectType::Commit, &tip)?;
    let number = glib::VariantDict::new(Some(&commit.child_value(0)))
        .lookup_value(NUMBER_KEY, None)
        .and_then(|v| v.get::<u32>())
        .ok_or_else(|| {
            Error::Failed(format!(
                "The newest commit on {BRANCH} is not a Keel demo commit; recreate the demo."
            ))
        })?;
    let version = commit_version(&remote, number + 1)?;
    regenerate_summary(&remote)?;
    Ok(version)
}

/// Commits demo version `number` on top of the branch; returns its version string.
fn commit_version(remote: &ostree::Repo, number: u32) -> Result<String> {
    let version = content::demo_version(number);
    let metadata = glib::VariantDict::new(None);
    metadata.insert_value("version", &version.version.to_variant());
    metadata.insert_value(PKGLIST_KEY, &pkglist_to_variant(&version.packages));
    metadata.insert_value(NUMBER_KEY, &number.to_variant());
    metadata.insert_value("ostree.bootable", &true.to_variant());
    let parent = remote.resolve_rev(BRANCH, true)?;
    let subject = format!("{} {}", content::OS_NAME, version.version);
    write_tree_commit(
        remote,
        BRANCH,
        parent.as_deref(),
        &subject,
        &metadata,
        &content::os_tree(&version),
        version.timestamp,
    )?;
    regenerate_summary(remote)?;
    Ok(version.version)
}

/// One commit per layerable package, on `packages/x86_64/NAME`, with its own package list.
fn commit_packages(remote: &ostree::Repo) -> Result<()> {
    for package in content::layer_packages() {
        let metadata = glib::VariantDict::new(None);
        metadata.insert_value("version", &package.package.evr().to_variant());
        metadata.insert_value(
            PKGLIST_KEY,
            &pkglist_to_variant(std::slice::from_ref(&package.package)),
        );
        metadata.insert_value("keel.summary", &package.summary.to_variant());
        let branch = format!("{PACKAGE_REF_PREFIX}{}", package.package.name);
        write_tree_commit(
            remote,
            &branch,
            None,
            &package.package.nevra(),
            &metadata,
            &package.files,
            content::demo_version(1).timestamp,
        )?;
    }
    // The index: an empty tree whose commit metadata lists the packages.
    let index: Vec<(String, String, String, String)> = content::layer_packages()
        .into_iter()
        .map(|p| {
            (
                p.package.name.clone(),
                p.package.evr(),
                p.package.arch.clone(),
                p.summary,
            )
        })
        .collect();
    let metadata = glib::VariantDict::new(None);
    metadata.insert_value(PACKAGE_INDEX_KEY, &index.to_variant());
    write_tree_commit(
        remote,
        PACKAGE_INDEX_REF,
        None,
        "Package index",
        &metadata,
        &[],
        content::demo_version(1).timestamp,
    )?;
    regenerate_summary(remote)
}

/// The summary lists the remote's refs for clients that browse it.
fn regenerate_summary(remote: &ostree::Repo) -> Result<()> {
    remote.regenerate_summary(None, gio::Cancellable::NONE)?;
    Ok(())
}

pub fn write_tree_commit(
    repo: &ostree::Repo,
    branch: &str,
    parent: Option<&str>,
    subject: &str,
    metadata: &glib::VariantDict,
    files: &[TreeFile],
    timestamp: u64,
) -> Result<String> {
    // The tree is laid out on disk first, then committed with canonical (root-owned) permissions.
    let staging = tempfile::tempdir()?;
    for file in files {
        let path = staging.path().join(&file.path);
        std::fs::create_dir_all(path.parent().unwrap_or(staging.path()))?;
        match &file.contents {
            FileContents::Regular(bytes) => {
                use std::os::unix::fs::PermissionsExt;
                std::fs::write(&path, bytes)?;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(file.mode))?;
            }
            FileContents::Symlink(target) => std::os::unix::fs::symlink(target, &path)?,
        }
    }
    repo.prepare_transaction(gio::Cancellable::NONE)?;
    let result = (|| -> Result<String> {
        let tree = ostree::MutableTree::new();
        let modifier = ostree::RepoCommitModifier::new(
            ostree::RepoCommitModifierFlags::CANONICAL_PERMISSIONS,
            None,
        );
        repo.write_directory_to_mtree(
            &gio::File::for_path(staging.path()),
            &tree,
            Some(&modifier),
            gio::Cancellable::NONE,
        )?;
        let root = repo.write_mtree(&tree, gio::Cancellable::NONE)?;
        let root = root.downcast::<ostree::RepoFile>().map_err(|_| {
            Error::Failed("libostree returned an unexpected tree object".to_owned())
        })?;
        let checksum = repo.write_commit_with_time(
            parent,
            Some(subject),
            None,
            Some(&metadata.end()),
            &root,
            timestamp,
            gio::Cancellable::NONE,
        )?;
        repo.transaction_set_ref(None, branch, Some(&checksum));
        repo.commit_transaction(gio::Cancellable::NONE)?;
        Ok(checksum.to_string())
    })();
    if result.is_err() {
        let _ = repo.abort_transaction(gio::Cancellable::NONE);
    }
    result
}
