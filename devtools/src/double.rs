//! The harness tests run the rpm-ostreed **test double** with: a temporary sysroot whose remote can
//! publish updates (Keel's demo system), a private dbus-daemon configured as a system bus with a
//! permissive policy, the double on it, and a folder to put first on PATH that holds `rpm-ostree`
//! and `pkexec` (the double CLI and the double pkexec). Dropping the harness stops every process
//! it started and deletes the sysroot.
//!
//! ```no_run
//! use keel_devtools::double::{Harness, Options};
//! let harness = Harness::start(Options::default());
//! let conn = harness.connect();
//! // … drive org.projectatomic.rpmostree1 on `conn`; harness.publish() adds a version …
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use keel_backend::driver::ostree::OstreeDriver;
use keel_backend::driver::{Cancel, CleanupSet, SystemDriver};
use ostree::{gio, glib};

use crate::rpmostreed::BUS_NAME;
pub use crate::rpmostreed::Hooks;

/// How the harness sets things up.
#[derive(Clone, Debug)]
pub struct Options {
    /// Start with one deployment, as the recordings do (else the demo's two: booted + rollback).
    pub fresh: bool,
    /// Serve the remote over HTTP (127.0.0.1), so that [`Harness::remote_down`] can stop it.
    pub http: bool,
    pub hooks: Hooks,
    pub automatic_update_policy: String,
    /// The cached update's advisories, GVariant text of type `a(suuasa{sv})`.
    pub advisories: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            fresh: false,
            http: false,
            hooks: Hooks::default(),
            automatic_update_policy: "none".to_owned(),
            advisories: None,
        }
    }
}

/// A running double with everything around it.
pub struct Harness {
    pub options: Options,
    daemon: Option<Child>,
    http: Option<Child>,
    /// The remote's HTTP port, kept across [`Harness::remote_down`].
    port: u16,
    bus: Child,
    bus_address: String,
    dir: tempfile::TempDir,
}

/// The demo system, made once and copied for each harness while any harness lives.
static TEMPLATE: Mutex<(usize, Option<tempfile::TempDir>)> = Mutex::new((0, None));

impl Harness {
    pub fn start(options: Options) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        copy_template(&dir.path().join("demo"));
        let (bus, bus_address) = start_bus(dir.path());
        let mut harness = Self {
            options,
            daemon: None,
            http: None,
            port: 0,
            bus,
            bus_address,
            dir,
        };
        harness.make_path_dir();
        if harness.options.fresh {
            let driver = harness.driver();
            let what = CleanupSet {
                rollback: true,
                ..Default::default()
            };
            driver
                .cleanup(what, &Cancel::default())
                .expect("a fresh start");
        }
        if harness.options.http {
            harness.remote_up();
        }
        if let Some(text) = &harness.options.advisories {
            std::fs::write(harness.dir.path().join("advisories.gv"), text).expect("written");
        }
        harness.restart_daemon();
        harness
    }

    pub fn bus_address(&self) -> &str {
        &self.bus_address
    }

    /// The demo system's folder: `sysroot/` and `remote/`.
    pub fn demo_dir(&self) -> PathBuf {
        self.dir.path().join("demo")
    }

    pub fn sysroot(&self) -> PathBuf {
        self.demo_dir().join("sysroot")
    }

    pub fn remote(&self) -> PathBuf {
        self.demo_dir().join("remote")
    }

    /// Where the double's transactions listen (in place of /run/rpm-ostree-transaction.sock).
    pub fn transaction_socket(&self) -> PathBuf {
        self.dir.path().join("rpm-ostree-transaction.sock")
    }

    /// The folder with `rpm-ostree` and `pkexec`, to put first on PATH.
    pub fn path_dir(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// PATH with [`Harness::path_dir`] first.
    pub fn path_env(&self) -> String {
        let rest = std::env::var("PATH").unwrap_or_default();
        format!("{}:{rest}", self.path_dir().display())
    }

    /// A command with the system bus and PATH set to the harness's.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.bus_address)
            .env("PATH", self.path_env());
        command
    }

    /// A connection to the private system bus.
    pub fn connect(&self) -> zbus::blocking::Connection {
        zbus::blocking::connection::Builder::address(self.bus_address.as_str())
            .and_then(|b| b.build())
            .expect("the private system bus answers")
    }

    /// Keel's libostree driver on the harness's sysroot (for setting up and checking states).
    pub fn driver(&self) -> OstreeDriver {
        OstreeDriver::open(&self.sysroot(), false).expect("the sysroot opens")
    }

    /// Puts a new version on the remote; returns it.
    pub fn publish(&self) -> String {
        keel_backend::demo::publish(&self.demo_dir()).expect("a new version is published")
    }

    /// Runs `ostree admin ARGS --sysroot=…` (an outside program changing the sysroot).
    pub fn ostree_admin(&self, args: &[&str]) -> String {
        let out = Command::new("ostree")
            .arg("admin")
            .args(args)
            .arg(format!("--sysroot={}", self.sysroot().display()))
            .output()
            .expect("ostree runs");
        assert!(
            out.status.success(),
            "ostree admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The double's process, if it runs.
    pub fn daemon(&mut self) -> Option<&mut Child> {
        self.daemon.as_mut()
    }

    /// Kills the double (SIGKILL) and reaps it; the bus announces its name is gone.
    pub fn kill_daemon(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the double again (after a kill or a crash), with `self.options.hooks`; returns when
    /// it owns its name.
    pub fn restart_daemon(&mut self) {
        self.kill_daemon();
        let mut command = Command::new(double_exe("keel-rpmostreed-double"));
        command
            .arg("--sysroot")
            .arg(self.sysroot())
            .args(["--bus", &self.bus_address])
            .arg("--transaction-socket")
            .arg(self.transaction_socket())
            .args([
                "--automatic-update-policy",
                &self.options.automatic_update_policy,
            ]);
        let hooks = &self.options.hooks;
        if hooks.deny_authorization {
            command.arg("--deny-authorization");
        }
        if let Some(op) = &hooks.crash_during {
            command.args(["--crash-during", op]);
        }
        if !hooks.step_delay.is_zero() {
            command.args(["--slow", &hooks.step_delay.as_millis().to_string()]);
        }
        if self.options.advisories.is_some() {
            command
                .arg("--advisories")
                .arg(self.dir.path().join("advisories.gv"));
        }
        self.daemon = Some(command.spawn().expect("the double starts"));
        self.wait_for_name(true);
    }

    /// Waits until the double's name is owned (or gone).
    pub fn wait_for_name(&mut self, owned: bool) {
        let conn = self.connect();
        let dbus = zbus::blocking::fdo::DBusProxy::new(&conn).expect("the bus's own proxy");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let has = dbus
                .name_has_owner(BUS_NAME.try_into().expect("a bus name"))
                .unwrap_or(false);
            if has == owned {
                return;
            }
            if let Some(child) = self.daemon.as_mut()
                && let Ok(Some(status)) = child.try_wait()
                && owned
            {
                panic!("the rpm-ostreed double exited: {status}");
            }
            assert!(Instant::now() < deadline, "the double's name never changed");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A simulated restart of the computer: the daemon stops, the next-boot deployment becomes the
    /// booted one (a staged deployment is finalized), the daemon starts again.
    pub fn reboot(&mut self) {
        self.kill_daemon();
        self.driver().reboot().expect("a simulated restart");
        self.restart_daemon();
    }

    /// Stops the HTTP server of the remote (with [`Options::http`]): pulls fail to connect.
    pub fn remote_down(&mut self) {
        if let Some(mut child) = self.http.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Serves the remote over HTTP (again, on the same port) and points the sysroot at it.
    pub fn remote_up(&mut self) {
        self.remote_down();
        let port = self.port;
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(self.remote())
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("python3 says where it serves");
        let port: u16 = line
            .split(" port ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        self.http = Some(child);
        self.port = port;
        self.set_remote_url(&format!("http://127.0.0.1:{port}"));
    }

    fn set_remote_url(&self, url: &str) {
        point_remote(&self.sysroot(), url);
    }

    fn make_path_dir(&self) {
        let bin = self.path_dir();
        std::fs::create_dir_all(&bin).expect("a bin folder");
        for (name, exe) in [
            ("rpm-ostree", "keel-rpm-ostree-double"),
            ("pkexec", "keel-pkexec-double"),
        ] {
            if let Some(exe) = find_double(exe) {
                std::os::unix::fs::symlink(exe, bin.join(name)).expect("a symlink");
            }
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.kill_daemon();
        self.remote_down();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
        let _ = keel_backend::demo::remove_tree(&self.demo_dir());
        release_template();
    }
}

/// A program of this crate, from the target folder the running test was built into
/// (`target/debug/deps/TEST` → `target/debug/NAME`), else `KEEL_DOUBLES_DIR`.
pub fn double_exe(name: &str) -> PathBuf {
    find_double(name).unwrap_or_else(|| {
        panic!("{name} is not built: run `cargo build -p keel-devtools` (or set KEEL_DOUBLES_DIR)")
    })
}

fn find_double(name: &str) -> Option<PathBuf> {
    let from_env = std::env::var_os("KEEL_DOUBLES_DIR").map(|d| PathBuf::from(d).join(name));
    let beside = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .skip(1)
            .take(3)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    from_env.filter(|p| p.is_file()).or(beside)
}

fn copy_template(to: &Path) {
    let mut template = TEMPLATE.lock().unwrap_or_else(|e| e.into_inner());
    if template.1.is_none() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        keel_backend::demo::init(&dir.path().join("demo")).expect("the demo system is made");
        template.1 = Some(dir);
    }
    template.0 += 1;
    let from = template.1.as_ref().expect("made").path().join("demo");
    let status = Command::new("cp")
        .arg("-a")
        .arg(&from)
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(status.success(), "copying the demo system failed");
    // The remote's URL names the template's folder: point it at this copy's remote.
    point_remote(
        &to.join("sysroot"),
        &format!("file://{}", to.join("remote").display()),
    );
}

/// Makes the sysroot's remote fetch from `url`.
fn point_remote(sysroot: &Path, url: &str) {
    let repo = ostree::Repo::new_for_path(sysroot.join("ostree/repo"));
    repo.open(gio::Cancellable::NONE)
        .expect("the sysroot's repository");
    let options = glib::VariantDict::new(None);
    options.insert("gpg-verify", false);
    let remote = keel_backend::demo::REMOTE;
    repo.remote_change(
        None::<&gio::File>,
        ostree::RepoRemoteChange::DeleteIfExists,
        remote,
        None,
        None::<&glib::Variant>,
        gio::Cancellable::NONE,
    )
    .expect("the remote is removed");
    repo.remote_add(
        remote,
        Some(url),
        Some(&options.end()),
        gio::Cancellable::NONE,
    )
    .expect("the remote is added");
}

fn release_template() {
    let mut template = TEMPLATE.lock().unwrap_or_else(|e| e.into_inner());
    template.0 = template.0.saturating_sub(1);
    if template.0 == 0
        && let Some(dir) = template.1.take()
    {
        let _ = keel_backend::demo::remove_tree(&dir.path().join("demo"));
    }
}

/// A private dbus-daemon set up as a system bus that lets everyone own and call anything.
pub fn start_bus(dir: &Path) -> (Child, String) {
    let config = dir.join("system-bus.conf");
    let socket = dir.join("system_bus_socket");
    std::fs::write(
        &config,
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"#,
            socket.display()
        ),
    )
    .expect("the bus configuration is written");
    let mut bus = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", config.display()))
        .args(["--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        // It complains that it may not raise its file limit, which does not matter here.
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-daemon runs");
    let mut address = String::new();
    BufReader::new(bus.stdout.take().expect("piped"))
        .read_line(&mut address)
        .expect("dbus-daemon prints its address");
    (bus, address.trim().to_owned())
}
