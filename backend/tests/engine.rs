//! The ostree driver on real sysroots: every operation through the real `keel-backend` binary,
//! checked against libostree's own `ostree admin status`.

mod common;

use common::{Demo, HttpServer, exists, ostree_on};
use keel_backend::packages::Package;

#[test]
fn a_new_demo_boots_version_two_with_version_three_waiting() {
    let demo = Demo::new();
    let status = demo.status();
    assert!(
        status.booted_emulated,
        "a sysroot in a folder is not the running system"
    );
    assert_eq!(status.os_name, "Keel Demo OS");
    assert_eq!(status.deployments.len(), 2);
    let (first, second) = (&status.deployments[0], &status.deployments[1]);
    assert_eq!(first.version.as_deref(), Some("41.20261112.0"));
    assert!(first.booted && first.default && !first.pending);
    assert_eq!(second.version.as_deref(), Some("41.20261101.0"));
    assert!(second.rollback && !second.booted);
    assert!(first.package_count >= 50, "a realistic package list");
    let packages: Vec<Package> =
        serde_json::from_str(&demo.ok(&["db-list", &first.id, "--json"])).unwrap();
    assert_eq!(packages.len(), first.package_count as usize);
    assert!(packages.iter().any(|p| p.name == "bash"));
    let by_checksum: Vec<Package> =
        serde_json::from_str(&demo.ok(&["db-list", &first.checksum, "--json"])).unwrap();
    assert_eq!(
        by_checksum, packages,
        "a commit checksum names the same list"
    );
    assert!(first.id.starts_with("keeldemo-") && first.id.ends_with(".0"));
    assert_eq!(
        first.origin.as_deref(),
        Some("keeldemo:keeldemo/stable/x86_64")
    );
    assert!(
        status.cached_update.is_none(),
        "nothing is known before a check"
    );
    assert_eq!(
        status.rollback_target.as_deref(),
        Some(second.id.as_str()),
        "Roll Back boots the rollback deployment"
    );
    let caps = &status.capabilities;
    assert!(caps.can_layer, "the demo's remote has a package source");
    assert!(caps.can_pin && caps.can_config_diff && caps.can_cleanup && caps.update_needs_restart);
    assert!(!caps.can_reboot, "the demo's restart is simulated");
    demo.assert_agrees_with_ostree();

    let out = demo.ok(&["check"]);
    assert!(out.contains("41.20261125.0"), "{out}");
    let update = demo.status().cached_update.expect("check finds version 3");
    assert_eq!(update.version.as_deref(), Some("41.20261125.0"));
    assert!(update.diff.upgraded.len() >= 10);
    assert_eq!((update.diff.added.len(), update.diff.removed.len()), (1, 1));
    assert!(!update.downloaded, "check fetches commit metadata only");
    demo.assert_agrees_with_ostree();
}

#[test]
fn update_restart_rollback_pin_unpin() {
    let demo = Demo::new();
    let out = demo.ok(&["update"]);
    assert!(out.contains("41.20261125.0"), "{out}");
    let status = demo.status();
    let versions: Vec<_> = status
        .deployments
        .iter()
        .map(|d| d.version.clone().unwrap())
        .collect();
    assert_eq!(
        versions,
        ["41.20261125.0", "41.20261112.0", "41.20261101.0"]
    );
    assert!(status.deployments[0].pending && status.deployments[0].default);
    assert!(status.deployments[1].booted);
    assert!(status.deployments[2].rollback);
    assert!(status.cached_update.is_none(), "the update is deployed");
    assert_eq!(
        status.pending_update.as_deref(),
        Some(status.deployments[0].id.as_str()),
        "the status names the update waiting for the restart"
    );
    demo.assert_agrees_with_ostree();
    // /etc of the new deployment carries the image's new defaults, merged.
    let new = &status.deployments[0];
    let etc = demo
        .deployment_dir(&format!("{}.{}", new.checksum, new.serial), "keeldemo")
        .join("etc");
    assert!(etc.join("os-release").exists() || exists(&etc.join("os-release")));

    assert!(demo.ok(&["update"]).contains("No update available"));

    // The demo's restart is simulated, and says so, in its answer and in the history.
    let out = demo.ok(&["reboot"]);
    assert!(
        out.contains("Restarted (simulated); 41.20261125.0 is booted"),
        "{out}"
    );
    let history = demo.ok(&["history"]);
    let last = history.lines().last().unwrap_or_default();
    assert!(
        last.contains("reboot") && last.contains("(simulated)"),
        "{history}"
    );
    let status = demo.status();
    assert!(status.deployments[0].booted);
    assert_eq!(
        status.booted().unwrap().version.as_deref(),
        Some("41.20261125.0")
    );
    assert!(status.deployments[1].rollback);

    // Roll back: version 2 boots next; nothing is deleted.
    demo.ok(&["rollback"]);
    let status = demo.status();
    assert_eq!(
        status.deployments[0].version.as_deref(),
        Some("41.20261112.0")
    );
    assert_eq!(status.deployments.len(), 3);
    assert!(status.deployments[1].booted, "the booted deployment stays");
    demo.assert_agrees_with_ostree();

    // Only a pending one and no rollback: rolling back puts the booted one back on top.
    demo.ok(&["remove", "2"]);
    assert_eq!(demo.status().deployments.len(), 2);
    demo.ok(&["rollback"]);
    let status = demo.status();
    assert!(status.deployments[0].booted);
    assert_eq!(
        status.deployments[1].version.as_deref(),
        Some("41.20261112.0")
    );
    demo.assert_agrees_with_ostree();

    demo.ok(&["pin", "1"]);
    assert!(demo.status().deployments[1].pinned);
    demo.assert_agrees_with_ostree();
    demo.ok(&["unpin", "1"]);
    assert!(!demo.status().deployments[1].pinned);
    demo.assert_agrees_with_ostree();

    let history = demo.ok(&["history"]);
    for op in ["update", "reboot", "rollback", "remove", "pin", "unpin"] {
        assert!(history.contains(op), "history lacks {op}:\n{history}");
    }
}

#[test]
fn pinned_deployments_survive_updates_and_cleanup() {
    let demo = Demo::new();
    demo.ok(&["pin", "rollback"]);
    demo.ok(&["update"]);
    demo.ok(&["reboot"]);
    demo.ok(&["cleanup", "--rollback"]);
    let status = demo.status();
    let v1 = status
        .deployments
        .iter()
        .find(|d| d.version.as_deref() == Some("41.20261101.0"))
        .expect("the pinned version 1 is kept");
    assert!(v1.pinned);
    assert!(status.booted().is_some());
    demo.assert_agrees_with_ostree();
}

#[test]
fn cleanup_removes_rollback_and_frees_space() {
    let demo = Demo::new();
    let out = demo.ok(&["cleanup", "--rollback"]);
    assert!(
        out.contains("freed") && !out.contains("freed 0 bytes"),
        "{out}"
    );
    let status = demo.status();
    assert_eq!(status.deployments.len(), 1);
    assert!(status.deployments[0].booted);
    demo.assert_agrees_with_ostree();
}

#[test]
fn bad_requests_change_nothing() {
    let demo = Demo::new();
    let before = demo.fingerprint();
    let cases: &[(&[&str], i32, &str)] = &[
        (&["pin", "7"], 3, "no deployment"),
        (&["pin", "keeldemo-0000.0"], 3, "no deployment"),
        (&["remove", "booted"], 2, "booted"),
        (&["rollback", "0"], 2, "already boots next"),
        (&["install", "no-such-package"], 3, "no package"),
        (&["install", "../etc/passwd"], 2, "not a package name"),
        (&["install", "htop;rm"], 2, "not a package name"),
        (&["uninstall", "htop"], 3, "not layered"),
        (&["reset-packages"], 2, "No packages are layered"),
        (&["diff", "0", "9"], 3, "no deployment"),
        (&["db-list", "9"], 3, "no deployment"),
    ];
    for (args, code, words) in cases {
        let message = demo.fails(args, *code);
        assert!(
            message.to_lowercase().contains(&words.to_lowercase()),
            "{args:?}: {message}"
        );
        assert_eq!(demo.fingerprint(), before, "{args:?} changed the system");
    }
    demo.ok(&["pin", "1"]);
    let before = demo.fingerprint();
    assert!(demo.fails(&["remove", "1"], 2).contains("pinned"));
    assert_eq!(demo.fingerprint(), before);
}

#[test]
fn layering_adds_and_removes_packages() {
    let demo = Demo::new();
    let available = demo.ok(&["packages"]);
    assert!(available.contains("htop"), "{available}");
    demo.ok(&["install", "htop", "fish"]);
    let status = demo.status();
    let pending = &status.deployments[0];
    assert!(pending.pending);
    assert_eq!(pending.requested_packages, ["htop", "fish"]);
    assert_eq!(pending.layered_packages, ["fish", "htop"]);
    assert_eq!(
        pending.version.as_deref(),
        Some("41.20261112.0"),
        "layering does not update the base"
    );
    assert_eq!(
        pending.base_checksum.as_deref(),
        Some(status.deployments[1].checksum.as_str())
    );
    assert!(demo.ok(&["db-list", "pending"]).contains("htop-"));
    let dir = demo.deployment_dir(
        &format!("{}.{}", pending.checksum, pending.serial),
        "keeldemo",
    );
    assert!(
        dir.join("usr/bin/htop").exists(),
        "the package's files are in the tree"
    );
    let origin = std::fs::read_to_string(format!("{}.origin", dir.display())).unwrap();
    assert!(
        origin.contains("baserefspec=keeldemo:keeldemo/stable/x86_64"),
        "{origin}"
    );
    assert!(origin.contains("requested=htop;fish;"), "{origin}");
    demo.assert_agrees_with_ostree();

    // Restart into it, then remove one package.
    demo.ok(&["reboot"]);
    demo.ok(&["uninstall", "fish"]);
    let status = demo.status();
    assert_eq!(status.deployments[0].layered_packages, ["htop"]);
    // An update rebuilds the layer on the new base.
    demo.ok(&["update"]);
    let status = demo.status();
    let new = &status.deployments[0];
    assert_eq!(new.version.as_deref(), Some("41.20261125.0"));
    assert_eq!(new.layered_packages, ["htop"]);
    demo.assert_agrees_with_ostree();
    demo.ok(&["reboot"]);
    demo.ok(&["reset-packages"]);
    let status = demo.status();
    assert!(status.deployments[0].layered_packages.is_empty());
    assert!(status.deployments[0].base_checksum.is_none());
    demo.assert_agrees_with_ostree();
}

#[test]
fn diff_and_config_diff() {
    let demo = Demo::new();
    let diff: keel_backend::packages::PackageDiff =
        serde_json::from_str(&demo.ok(&["diff", "1", "0", "--json"])).unwrap();
    assert!(!diff.upgraded.is_empty(), "version 1 → 2 upgrades packages");

    let status = demo.status();
    let booted = status.booted().unwrap();
    let etc = demo
        .deployment_dir(
            &format!("{}.{}", booted.checksum, booted.serial),
            "keeldemo",
        )
        .join("etc");
    std::fs::write(etc.join("motd"), "changed by the admin\n").unwrap();
    std::fs::write(etc.join("local.conf"), "mine\n").unwrap();
    std::fs::remove_file(etc.join("fstab")).unwrap();
    let diff: keel_backend::model::ConfigDiff =
        serde_json::from_str(&demo.ok(&["config-diff", "--json"])).unwrap();
    assert!(diff.modified.contains(&"motd".to_owned()), "{diff:?}");
    assert!(diff.added.contains(&"local.conf".to_owned()), "{diff:?}");
    assert!(diff.removed.contains(&"fstab".to_owned()), "{diff:?}");

    // The local change is carried into the next deployment by the /etc merge.
    demo.ok(&["update"]);
    let new = &demo.status().deployments[0];
    let new_etc = demo
        .deployment_dir(&format!("{}.{}", new.checksum, new.serial), "keeldemo")
        .join("etc");
    assert_eq!(
        std::fs::read_to_string(new_etc.join("motd")).unwrap(),
        "changed by the admin\n"
    );
}

#[test]
fn publish_makes_another_update() {
    let demo = Demo::new();
    demo.ok(&["update"]);
    demo.ok(&["reboot"]);
    let out = std::process::Command::new(common::bin())
        .args(["demo", "publish", "--dir"])
        .arg(demo.root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out));
    demo.ok(&["check"]);
    let update = demo.status().cached_update.expect("a fourth version");
    assert_eq!(update.version.as_deref(), Some("41.20261202.0"));
    demo.ok(&["update"]);
    demo.assert_agrees_with_ostree();
}

#[test]
fn demo_remove_deletes_immutable_deployments() {
    let demo = Demo::new();
    demo.ok(&["update"]);
    let out = std::process::Command::new(common::bin())
        .args(["demo", "remove", "--dir"])
        .arg(demo.root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out));
    assert!(!demo.root().exists());
}

#[test]
fn layering_on_a_rolled_back_deployment_keeps_its_base() {
    // The base of a layered deployment must survive pruning even when no plain deployment of it
    // is left: here the rolled-back version 2 is replaced by its layered form.
    let demo = Demo::new();
    demo.ok(&["update"]);
    demo.ok(&["reboot"]);
    demo.ok(&["rollback"]);
    demo.ok(&["install", "htop"]);
    demo.ok(&["cleanup", "--repo"]);
    demo.ok(&["uninstall", "htop"]);
    let status = demo.status();
    assert_eq!(
        status.deployments[0].version.as_deref(),
        Some("41.20261112.0")
    );
    assert!(status.deployments[0].layered_packages.is_empty());
    demo.assert_agrees_with_ostree();
}

/// Allocated bytes of every file under `dir`, by inode.
fn inodes(dir: &std::path::Path) -> std::collections::HashMap<(u64, u64), u64> {
    use std::os::unix::fs::MetadataExt;
    let mut found = std::collections::HashMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                found.insert((meta.dev(), meta.ino()), meta.blocks() * 512);
            }
        }
    }
    found
}

#[test]
fn cleanup_estimate_matches_what_cleanup_frees() {
    use keel_backend::driver::{self, Cancel, CleanupSet, Target};
    let demo = Demo::new();
    demo.ok(&["update"]);
    // Pending (the update), booted, rollback. Each step must remove the deployments the estimate
    // named and free the space it said: space that really comes free, files whose every link
    // is gone (the demo's objects are also linked from its remote), give or take the journal and
    // boot records the cleanup itself rewrites.
    let steps = [
        CleanupSet {
            pending: false,
            rollback: false,
            repo: true,
        },
        CleanupSet {
            pending: false,
            rollback: true,
            repo: true,
        },
        CleanupSet {
            pending: true,
            rollback: false,
            repo: true,
        },
    ];
    for what in steps {
        let system = driver::open(&Target {
            path: demo.sysroot(),
            demo: false,
        })
        .unwrap();
        let before = demo.fingerprint();
        let estimate = system.cleanup_estimate(what).unwrap();
        assert_eq!(demo.fingerprint(), before, "estimating changed the system");
        let ids = |demo: &Demo| -> Vec<String> {
            demo.status()
                .deployments
                .iter()
                .map(|d| d.id.clone())
                .collect()
        };
        let (ids_before, files_before) = (ids(&demo), inodes(&demo.root()));
        let reported = system.cleanup(what, &Cancel::default()).unwrap();
        let (ids_after, files_after) = (ids(&demo), inodes(&demo.root()));
        let removed: Vec<String> = ids_before
            .into_iter()
            .filter(|id| !ids_after.contains(id))
            .collect();
        assert_eq!(estimate.deployments, removed, "{what:?}");
        let freed: u64 = files_before
            .iter()
            .filter(|(inode, _)| !files_after.contains_key(inode))
            .map(|(_, bytes)| bytes)
            .sum();
        assert!(
            estimate.bytes.abs_diff(freed) <= 64 * 1024,
            "{what:?}: estimated {} bytes, {freed} came free",
            estimate.bytes
        );
        // What the cleanup says it freed is what came free too.
        assert!(
            reported.abs_diff(freed) <= 64 * 1024,
            "{what:?}: reported {reported} bytes freed, {freed} came free"
        );
        if what.pending || what.rollback {
            assert!(freed > 100 * 1024, "{what:?} freed only {freed} bytes");
        }
    }
    demo.assert_agrees_with_ostree();
}

#[test]
fn layering_is_offered_only_where_the_remote_has_a_package_source() {
    let demo = Demo::new();
    // Over the network the remote is not asked while reading the status: what it offers is
    // learnt from a check. Until then layering is offered (listing the packages asks the remote).
    let server = HttpServer::serve_remote(&demo, 0.0);
    assert!(demo.status().capabilities.can_layer, "nothing known yet");
    demo.ok(&["check"]);
    assert!(demo.status().capabilities.can_layer);

    // The remote stops offering packages.
    ostree_on(&demo.remote(), &["refs", "--delete", "packages/index"]);
    ostree_on(&demo.remote(), &["summary", "-u"]);
    demo.ok(&["check"]);
    assert!(!demo.status().capabilities.can_layer, "over HTTP");
    // It offers them again: the next check finds the source.
    ostree_on(
        &demo.remote(),
        &["refs", "--create=packages/index", "keeldemo/stable/x86_64"],
    );
    ostree_on(&demo.remote(), &["summary", "-u"]);
    demo.ok(&["check"]);
    assert!(demo.status().capabilities.can_layer, "offered again");
    drop(server);

    // A remote on a local path is asked directly.
    ostree_on(&demo.remote(), &["refs", "--delete", "packages/index"]);
    demo.set_remote_url(&format!("file://{}", demo.remote().display()));
    let status = demo.status();
    assert!(!status.capabilities.can_layer, "on a local path");
    assert!(status.capabilities.can_pin, "the rest is still offered");
}
