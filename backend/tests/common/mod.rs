//! Helpers for the engine's integration tests: a fresh demo system in a temporary folder, the real
//! `keel-backend` binary, and libostree's own `ostree` command as the independent witness.

#![allow(dead_code)]

pub mod bus;
pub mod flatpak;
pub mod served;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use keel_backend::model::SystemStatus;

pub struct Demo {
    pub dir: tempfile::TempDir,
}

impl Demo {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let demo = Self { dir };
        let out = Command::new(bin())
            .args(["demo", "init", "--dir"])
            .arg(demo.root())
            .output()
            .unwrap();
        assert!(out.status.success(), "demo init failed: {}", text(&out));
        demo
    }

    /// A demo already laid out in `dir/demo` (a copy of another).
    pub fn adopt(dir: tempfile::TempDir) -> Self {
        Self { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("demo")
    }

    pub fn sysroot(&self) -> PathBuf {
        self.root().join("sysroot")
    }

    pub fn remote(&self) -> PathBuf {
        self.root().join("remote")
    }

    /// `keel-backend --sysroot … ARGS`, to run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(bin());
        command.arg("--sysroot").arg(self.sysroot()).args(args);
        command
    }

    /// Runs `keel-backend --sysroot … ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs a command that must succeed and returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        succeeded(args, self.run(args))
    }

    /// Runs a command that must fail with `code`; returns its error message.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        failed(args, self.run(args), code)
    }

    pub fn status(&self) -> SystemStatus {
        serde_json::from_str(&self.ok(&["status", "--json"])).unwrap()
    }

    pub fn ostree_admin_status(&self) -> String {
        let out = Command::new("ostree")
            .args(["admin", "status", "--sysroot"])
            .arg(self.sysroot())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ostree admin status failed: {}",
            text(&out)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Everything that defines what boots: `ostree admin status`, the boot entries, Keel's boot
    /// record. Equal before and after means a failed operation changed nothing.
    pub fn fingerprint(&self) -> String {
        let mut print = self.ostree_admin_status();
        let loader = self.sysroot().join("boot/loader");
        let mut entries: Vec<PathBuf> = std::fs::read_dir(loader.join("entries"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        entries.sort();
        print.push_str(&format!("{:?}\n", std::fs::read_link(&loader).ok()));
        for entry in entries {
            print.push_str(&std::fs::read_to_string(entry).unwrap());
        }
        let record = self.sysroot().join("ostree/keel/booted");
        print.push_str(&std::fs::read_to_string(record).unwrap_or_default());
        print
    }

    /// Asserts Keel's view matches libostree's own: order, versions, pins, next boot.
    pub fn assert_agrees_with_ostree(&self) {
        let status = self.status();
        let listed = parse_admin_status(&self.ostree_admin_status());
        let ours: Vec<(String, Option<String>, bool)> = status
            .deployments
            .iter()
            .map(|d| {
                (
                    format!("{}.{}", d.checksum, d.serial),
                    d.version.clone(),
                    d.pinned,
                )
            })
            .collect();
        assert_eq!(
            ours, listed,
            "keel-backend and ostree admin status disagree"
        );
        for (i, d) in status.deployments.iter().enumerate() {
            assert_eq!(d.default, i == 0, "only the first deployment boots next");
            assert_eq!(d.index as usize, i);
        }
        let loader_entries = std::fs::read_dir(self.sysroot().join("boot/loader/entries"))
            .unwrap()
            .count();
        assert_eq!(
            loader_entries,
            status.deployments.len(),
            "one boot entry per deployment"
        );
    }

    /// Points the sysroot's remote at another URL (a test server).
    pub fn set_remote_url(&self, url: &str) {
        let repo = self.sysroot().join("ostree/repo");
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

    pub fn deployment_dir(&self, checksum_serial: &str, osname: &str) -> PathBuf {
        self.sysroot()
            .join("ostree/deploy")
            .join(osname)
            .join("deploy")
            .join(checksum_serial)
    }
}

/// (checksum.serial, version, pinned) per deployment, in the order `ostree admin status` lists them.
pub fn parse_admin_status(text: &str) -> Vec<(String, Option<String>, bool)> {
    let mut out: Vec<(String, Option<String>, bool)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start_matches(['*', ' ']);
        let is_header = !line.starts_with("    ") && !trimmed.is_empty();
        if is_header {
            let id = trimmed
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            out.push((id, None, false));
        } else if let Some(v) = trimmed.strip_prefix("Version: ") {
            out.last_mut().unwrap().1 = Some(v.trim().to_owned());
        } else if trimmed.starts_with("Pinned: yes") {
            out.last_mut().unwrap().2 = true;
        }
    }
    out
}

/// The standard output of `keel-backend ARGS`, which must have succeeded.
pub fn succeeded(args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "keel-backend {args:?} failed: {}",
        text(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The error message of `keel-backend ARGS`, which must have failed with `code`.
pub fn failed(args: &[&str], out: Output, code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "keel-backend {args:?} should exit {code}: {}",
        text(&out)
    );
    String::from_utf8(out.stderr).unwrap()
}

/// po/de.po compiled to `DIR/de/LC_MESSAGES/keel.mo`, as build-aux/uninstalled-env does.
pub fn german_translations() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let messages = dir.path().join("de/LC_MESSAGES");
    std::fs::create_dir_all(&messages).unwrap();
    let po = Path::new(env!("CARGO_MANIFEST_DIR")).join("../po/de.po");
    let out = Command::new("msgfmt")
        .arg("--check")
        .arg("-o")
        .arg(messages.join("keel.mo"))
        .arg(&po)
        .output()
        .unwrap();
    assert!(out.status.success(), "msgfmt failed: {}", text(&out));
    dir
}

/// Makes `command` run in a German session, with the translations in `translations`.
pub fn german_session<'c>(command: &'c mut Command, translations: &Path) -> &'c mut Command {
    command
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "de_DE.UTF-8")
        .env("LANGUAGE", "de")
        .env("KEEL_LOCALEDIR", translations)
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_keel-backend")
}

pub fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// An HTTP server on 127.0.0.1 serving a folder, waiting `delay` seconds before each answer.
pub struct HttpServer {
    child: Child,
    pub port: u16,
}

impl HttpServer {
    pub fn serve(dir: &Path, delay: f64) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slow_http.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(delay.to_string())
            .arg(dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("no port from the server: {line}"));
        Self { child, port }
    }

    /// Serves the demo's remote and points the demo's sysroot at it.
    pub fn serve_remote(demo: &Demo, delay: f64) -> Self {
        let server = Self::serve(&demo.remote(), delay);
        demo.set_remote_url(&format!("http://127.0.0.1:{}", server.port));
        server
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Waits for a process to exit, failing the test if it has not within `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("the process can be waited for") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the process did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills a process and reaps it; a process that survives SIGKILL for 30 s fails the test.
pub fn stop(child: &mut Child) -> ExitStatus {
    let _ = child.kill();
    wait_exit(child, Duration::from_secs(30))
}

/// A small seedable generator (xorshift): randomised tests print their seed so a failure can be
/// replayed.
pub struct Rng(pub u64);

impl Rng {
    /// Seeded from the environment variable `var` when set, else from `default` — fixed, so that a
    /// run is repeatable; the seed is printed either way.
    pub fn seeded(var: &str, default: u64) -> (Self, u64) {
        let seed = std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
            .max(1);
        eprintln!("{var}={seed} (set it to replay or vary this run)");
        (Self(seed), seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Runs the `ostree` command on a repository; it must succeed.
pub fn ostree_on(repo: &Path, args: &[&str]) {
    let out = Command::new("ostree")
        .arg(format!("--repo={}", repo.display()))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "ostree {args:?}: {}", text(&out));
}
