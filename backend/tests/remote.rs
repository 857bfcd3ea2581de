//! Updates from a remote served over real HTTP on 127.0.0.1, and the ways a remote or a disk can
//! fail: each must give a clear error and leave the system exactly as it was.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::{Demo, text};

/// Python's http.server over the demo's remote, on a free port of 127.0.0.1.
struct HttpServer {
    child: Child,
    port: u16,
}

impl HttpServer {
    fn serve(dir: &std::path::Path) -> Self {
        let mut child = Command::new("python3")
            .args(["-u", "-m", "http.server", "--bind", "127.0.0.1", "0"])
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected http.server banner: {line}"));
        Self { child, port }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn set_remote_url(demo: &Demo, url: &str) {
    let repo = demo.sysroot().join("ostree/repo");
    for args in [
        vec!["remote", "delete", "keeldemo"],
        vec!["remote", "add", "--no-gpg-verify", "keeldemo", url],
    ] {
        let out = Command::new("ostree")
            .arg(format!("--repo={}", repo.display()))
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "ostree {args:?}: {}", text(&out));
    }
}

#[test]
fn updates_over_http() {
    let demo = Demo::new();
    let server = HttpServer::serve(&demo.remote());
    set_remote_url(&demo, &format!("http://127.0.0.1:{}", server.port));
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
    set_remote_url(&demo, "http://127.0.0.1:9");
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
