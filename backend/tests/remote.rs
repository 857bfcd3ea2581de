//! Updates from a remote served over real HTTP on 127.0.0.1, and the ways a remote or a disk can
//! fail: each must give a clear error and leave the system exactly as it was.

mod common;

use std::process::Command;

use common::{Demo, HttpServer, text};

#[test]
fn updates_over_http() {
    let demo = Demo::new();
    let _server = HttpServer::serve_remote(&demo, 0.0);
    demo.ok(&["check"]);
    assert!(demo.status().cached_update.is_some());
    let out = demo.ok(&["update", "--download-only"]);
    assert!(out.contains("Downloaded"), "{out}");
    let status = demo.status();
    assert_eq!(status.deployments.len(), 2, "download-only deploys nothing");
    assert!(status.cached_update.unwrap().downloaded);
    demo.ok(&["update"]);
    let status = demo.status();
    assert_eq!(
        status.deployments[0].version.as_deref(),
        Some("41.20261125.0")
    );
    demo.ok(&["install", "htop"]);
    assert_eq!(demo.status().deployments[0].layered_packages, ["htop"]);
    demo.assert_agrees_with_ostree();
}

#[test]
fn unreachable_remote_changes_nothing() {
    let demo = Demo::new();
    // Port 9 (discard) has no listener here: the connection is refused at once.
    demo.set_remote_url("http://127.0.0.1:9");
    let before = demo.fingerprint();
    for args in [&["check"][..], &["update"], &["install", "htop"]] {
        let message = demo.fails(args, 1);
        assert!(message.contains("cannot be reached"), "{args:?}: {message}");
        assert_eq!(demo.fingerprint(), before, "{args:?} changed the system");
    }
}

#[test]
fn corrupt_remote_object_changes_nothing() {
    let demo = Demo::new();
    // Replace every file object the update needs (those the system lacks) with another, valid
    // object: well-formed data whose checksum is not the one asked for, as bit rot or a bad mirror
    // would serve.
    let local = demo.sysroot().join("ostree/repo/objects");
    let mut objects = Vec::new();
    for dir in std::fs::read_dir(demo.remote().join("objects"))
        .unwrap()
        .flatten()
    {
        for object in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let name = object.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".filez") {
                let here = local.join(dir.file_name()).join(format!("{stem}.file"));
                objects.push((object.path(), here.exists()));
            }
        }
    }
    let (donor, _) = objects
        .iter()
        .find(|(_, local)| *local)
        .expect("a shared object");
    let donor = std::fs::read(donor).unwrap();
    let mut damaged = 0;
    for (path, _) in objects.iter().filter(|(_, local)| !local) {
        std::fs::write(path, &donor).unwrap();
        damaged += 1;
    }
    assert!(damaged > 0);
    let before = demo.fingerprint();
    let message = demo.fails(&["update"], 1);
    assert!(message.to_lowercase().contains("corrupt"), "{message}");
    assert!(message.contains("nothing was changed"), "{message}");
    assert_eq!(demo.fingerprint(), before);
    demo.ok(&["status"]);
}

#[test]
fn corrupt_origin_file_is_named() {
    let demo = Demo::new();
    let status = demo.status();
    let d = &status.deployments[1];
    let origin = format!(
        "{}.origin",
        demo.deployment_dir(&format!("{}.{}", d.checksum, d.serial), "keeldemo")
            .display()
    );
    std::fs::write(
        &origin,
        "[origin\nrefspec=keeldemo:keeldemo/stable/x86_64\n",
    )
    .unwrap();
    let message = demo.fails(&["status"], 1);
    assert!(message.contains("sysroot"), "{message}");
    assert!(
        message.contains(".origin") || message.contains("origin"),
        "{message}"
    );
}

#[test]
fn full_disk_changes_nothing() {
    let demo = Demo::new();
    demo.ok(&["check"]);
    let du = Command::new("du")
        .args(["-sk"])
        .arg(demo.root())
        .output()
        .unwrap();
    let used_kb: u64 = String::from_utf8_lossy(&du.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // A private mount namespace with a tmpfs barely larger than the demo: the update cannot fit.
    let script = format!(
        r#"set -e
mnt=$(mktemp -d)
mount -t tmpfs -o size={size}k tmpfs "$mnt"
cp -a "{root}" "$mnt/demo"
sysroot="$mnt/demo/sysroot"
print() {{ ostree admin status --sysroot="$sysroot"; cat "$sysroot"/boot/loader/entries/*.conf "$sysroot/ostree/keel/booted" 2>/dev/null || true; }}
before=$(print)
set +e
"{bin}" --sysroot "$sysroot" update 2>"$mnt/err"
code=$?
set -e
cat "$mnt/err" >&2
[ "$code" = 1 ] || {{ echo "update exited $code, expected 1" >&2; exit 10; }}
grep -q "not enough free disk space" "$mnt/err" || {{ echo "unclear message" >&2; exit 11; }}
[ "$(print)" = "$before" ] || {{ echo "the system changed" >&2; exit 12; }}
"{bin}" --sysroot "$sysroot" status >/dev/null || exit 13
"#,
        size = used_kb + 64,
        root = demo.root().display(),
        bin = common::bin(),
    );
    let out = Command::new("unshare")
        .args(["-rm", "bash", "-xc", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}
