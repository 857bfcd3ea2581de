//! A sysroot at Fedora's scale: several deployments whose commits each carry a package list in
//! `rpmostree.rpmdb.pkglist` (`a(sssss)`), as Fedora Silverblue's commits do with about 2,000
//! packages. Made with libostree, like the demo. The benchmark's GetStatus case runs on it, and the
//! UI benchmark opens it (`keel-devtools fedora-scale PATH`, then `keel --sysroot PATH/sysroot`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ostree::{gio, glib, prelude::*};

use keel_api::packages::Package;
use keel_backend::demo::content::{FileContents, TreeFile};
use keel_backend::demo::{deploy_branch, init_sysroot, write_tree_commit};
use keel_backend::driver::ostree::OstreeDriver;
use keel_backend::driver::ostree::pkglist::{PKGLIST_KEY, pkglist_to_variant};
use keel_backend::driver::{Cancel, SystemDriver};
use keel_backend::error::{Context, Error, Result};
use keel_backend::progress::{Phases, Silent};

const STATEROOT: &str = "fedora";
const REMOTE: &str = "fedora";
const BRANCH: &str = "fedora/41/x86_64/silverblue";

/// How big a system to make.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    pub deployments: usize,
    pub packages: usize,
    /// One more version on the remote, its metadata fetched as by a check: the status then
    /// carries the update and its package changes, as on a Fedora system after `upgrade --check`.
    pub waiting_update: bool,
}

impl Default for Scale {
    /// What the issue measured: five deployments of a Silverblue-sized image.
    fn default() -> Self {
        Self {
            deployments: 5,
            packages: 2000,
            waiting_update: false,
        }
    }
}

/// Makes `dir/remote` (archive mode) and `dir/sysroot` with `scale.deployments` deployments of
/// successive commits, the newest first; returns the sysroot's path. `dir` must not exist yet or be
/// empty.
pub fn make(dir: &Path, scale: Scale) -> Result<PathBuf> {
    if scale.deployments == 0 {
        return Err(Error::InvalidArgument(
            "Give at least one deployment.".to_owned(),
        ));
    }
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(Error::InvalidArgument(format!(
            "{} exists and is not empty; give a new folder.",
            dir.display()
        )));
    }
    // The remote's URL must be absolute: `file://target/x` would name a host.
    let dir = &std::path::absolute(dir)?;
    let remote_path = dir.join("remote");
    std::fs::create_dir_all(&remote_path)?;
    let remote = ostree::Repo::new_for_path(&remote_path);
    remote
        .create(ostree::RepoMode::Archive, gio::Cancellable::NONE)
        .context("Making the remote")?;
    let url = format!("file://{}", remote_path.display());
    let sysroot_path = dir.join("sysroot");
    let sysroot = init_sysroot(&sysroot_path, STATEROOT, REMOTE, &url)?;
    for number in 1..=scale.deployments {
        let version = commit_version(&remote, scale.packages, number)?;
        deploy_branch(&sysroot, STATEROOT, REMOTE, BRANCH, None)
            .context(&format!("Deploying version {version}"))?;
    }
    if scale.waiting_update {
        commit_version(&remote, scale.packages, scale.deployments + 1)?;
        let driver = OstreeDriver::open(&sysroot_path, false)?;
        driver.check(&Phases::new(Arc::new(Silent)), &Cancel::default())?;
    }
    Ok(sysroot_path)
}

/// Commits version `number` on the branch; returns its version string.
fn commit_version(remote: &ostree::Repo, packages_count: usize, number: usize) -> Result<String> {
    let version = format!("41.202611{number:02}.0");
    let metadata = glib::VariantDict::new(None);
    metadata.insert_value("version", &version.to_variant());
    metadata.insert_value(
        PKGLIST_KEY,
        &pkglist_to_variant(&packages(packages_count, number)),
    );
    metadata.insert_value("ostree.bootable", &true.to_variant());
    let parent = remote.resolve_rev(BRANCH, true)?;
    write_tree_commit(
        remote,
        BRANCH,
        parent.as_deref(),
        &format!("Fedora-scale test {version}"),
        &metadata,
        &tree(&version),
        1_793_000_000 + number as u64 * 86_400,
    )
    .context(&format!("Committing version {version}"))?;
    Ok(version)
}

/// `count` packages with Fedora-like names and versions; each `number` upgrades a tenth of them,
/// so neighbouring deployments differ as consecutive composes do.
pub fn packages(count: usize, number: usize) -> Vec<Package> {
    const STEMS: [&str; 8] = [
        "libgnome", "python3", "texlive", "perl", "golang", "rust", "qt6", "kf6",
    ];
    (0..count)
        .map(|i| {
            // How many of the versions up to `number` upgraded it: version n upgrades the
            // packages whose index ends in the same digit (ten for those ending in 0).
            let digit = match i % 10 {
                0 => 10,
                d => d,
            };
            let build = (number + 10 - digit) / 10;
            Package::new(
                &format!("{}-component{i:04}", STEMS[i % STEMS.len()]),
                if i % 17 == 0 { "1" } else { "0" },
                &format!("{}.{}.{build}", 1 + i % 7, i % 13),
                &format!("{}.fc41", 1 + i % 5),
                if i % 4 == 0 { "noarch" } else { "x86_64" },
            )
        })
        .collect()
}

/// The least a bootable tree holds.
fn tree(version: &str) -> Vec<TreeFile> {
    let regular = |path: &str, text: String| TreeFile {
        path: path.to_owned(),
        contents: FileContents::Regular(text.into_bytes()),
        mode: 0o644,
    };
    vec![
        regular(
            "usr/lib/os-release",
            format!(
                "NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=41\nOSTREE_VERSION='{version}'\n"
            ),
        ),
        regular("usr/lib/modules/6.11.4/vmlinuz", "kernel 6.11.4".to_owned()),
        regular(
            "usr/lib/modules/6.11.4/initramfs.img",
            "initramfs 6.11.4".to_owned(),
        ),
        regular("usr/etc/hostname", "scale\n".to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_backend::driver::SystemDriver;
    use keel_backend::driver::ostree::OstreeDriver;

    /// Small numbers, same path: the sysroot has every deployment, each commit its package list.
    #[test]
    fn makes_deployments_with_package_lists() {
        let dir = tempfile::tempdir().unwrap();
        let scale = Scale {
            deployments: 3,
            packages: 40,
            waiting_update: true,
        };
        let sysroot = make(&dir.path().join("scale"), scale).unwrap();
        let driver = OstreeDriver::open(&sysroot, false).unwrap();
        let status = driver.status().unwrap();
        assert_eq!(status.deployments.len(), 3);
        let versions: Vec<_> = status
            .deployments
            .iter()
            .map(|d| d.version.clone().unwrap())
            .collect();
        assert_eq!(
            versions,
            ["41.20261103.0", "41.20261102.0", "41.20261101.0"]
        );
        assert!(status.deployments.iter().all(|d| d.package_count == 40));
        let update = status.cached_update.expect("a version waits on the remote");
        assert_eq!(update.version.as_deref(), Some("41.20261104.0"));
        assert_eq!(update.diff.upgraded.len(), 4);
        let mut expected = packages(40, 3);
        expected.sort();
        assert_eq!(driver.packages("0").unwrap(), expected);
        let diff = driver.diff("1", "0").unwrap();
        assert_eq!(diff.upgraded.len(), 4, "a tenth upgraded: {diff:?}");
        assert!(diff.downgraded.is_empty() && diff.added.is_empty());
        assert!(
            make(&dir.path().join("scale"), scale).is_err(),
            "refuses a full folder"
        );
        keel_backend::demo::remove_tree(&dir.path().join("scale/sysroot")).unwrap();
    }
}
