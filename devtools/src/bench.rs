//! `keel-devtools bench`: Keel's operations timed against the `ostree` command doing the same steps
//! on identical sysroots. Prints a table; a benchmark, never a pass/fail test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ostree::glib;

use keel_backend::demo::content::{FileContents, TreeFile};
use keel_backend::demo::{deploy_branch, init_sysroot, write_tree_commit};
use keel_backend::driver::ostree::OstreeDriver;
use keel_backend::driver::{Cancel, SystemDriver};
use keel_backend::error::{Context, Error, Result};
use keel_backend::progress::{Phases, Silent};
use keel_devtools::scale::{self, Scale};

const STATEROOT: &str = "keelbench";
const REMOTE: &str = "bench";
const BRANCH: &str = "keelbench/x86_64";

pub struct Options {
    pub sizes: Vec<usize>,
    pub runs: usize,
    pub dir: Option<PathBuf>,
    /// Also time GetStatus and GetPackages over D-Bus, on the demo and at Fedora's scale (needs
    /// dbus-daemon).
    pub dbus: bool,
}

struct Row {
    operation: String,
    files: String,
    keel: Duration,
    cli: Option<(String, Duration)>,
}

/// A scratch folder in `dir`, or in the temporary folder.
pub fn scratch(dir: Option<&Path>) -> Result<tempfile::TempDir> {
    match dir {
        Some(dir) => tempfile::Builder::new()
            .prefix("keel-bench-")
            .tempdir_in(dir),
        None => tempfile::Builder::new().prefix("keel-bench-").tempdir(),
    }
    .context("Making a scratch folder")
}

pub fn run(options: &Options) -> Result<()> {
    let scratch = scratch(options.dir.as_deref())?;
    let mut rows = Vec::new();
    for &files in &options.sizes {
        eprintln!("bench: preparing trees of {files} files …");
        let set = Fixture::new(scratch.path(), files)?;
        rows.extend(set.measure(options.runs)?);
        for name in ["keel", "cli", "status", "template"] {
            keel_backend::demo::remove_tree(&set.dir.join(name))?;
        }
    }
    print_table(&rows);
    if options.dbus {
        println!();
        dbus_cases(scratch.path())?;
    }
    Ok(())
}

/// Reads over D-Bus, on the demo and on a sysroot at Fedora's scale: round trips through a private
/// dbus-daemon to `keel-backend serve`, against `ostree admin status` run as a process on the same
/// sysroot. The target is a GetStatus p50 of 2 ms or less.
fn dbus_cases(scratch: &Path) -> Result<()> {
    let demo = scratch.join("demo");
    keel_backend::demo::init(&demo)?;
    let scale = Scale::default();
    eprintln!(
        "bench: making a sysroot of {} deployments × {} packages …",
        scale.deployments, scale.packages
    );
    let scale_dir = scratch.join("fedora-scale");
    let scale_sysroot = scale::make(&scale_dir, scale)?;
    let update_dir = scratch.join("fedora-scale-update");
    let update_sysroot = scale::make(
        &update_dir,
        Scale {
            waiting_update: true,
            ..scale
        },
    )?;
    let mut rows = dbus_rows("demo", &keel_backend::demo::sysroot_dir(&demo))?;
    rows.extend(dbus_rows("Fedora scale", &scale_sysroot)?);
    rows.extend(dbus_rows("+ update", &update_sysroot)?);
    keel_backend::demo::remove_tree(&demo)?;
    for (dir, sysroot) in [(scale_dir, scale_sysroot), (update_dir, update_sysroot)] {
        keel_backend::demo::remove_tree(&sysroot)?;
        std::fs::remove_dir_all(&dir)?;
    }
    print_dbus_table(&rows);
    crate::bench_rpmostree::run()
}

/// Percentiles of one kind of call.
pub struct Timing {
    pub p50: Duration,
    pub p99: Duration,
}

impl Timing {
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Self {
            p50: at(0.5),
            p99: at(0.99),
        }
    }
}

struct DbusRow {
    system: String,
    /// "5 × 2000": deployments × packages in the first.
    size: String,
    call: &'static str,
    keel: Timing,
    cli: Option<Timing>,
}

/// `keel-backend` from beside this program (both are built into the same target folder), else
/// from PATH.
fn backend_exe() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("keel-backend")))
        .filter(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from("keel-backend"))
}

/// A private message bus with `keel-backend serve` on it, both stopped when dropped.
struct Served {
    bus: std::process::Child,
    service: std::process::Child,
    address: String,
}

impl Served {
    fn start(sysroot: &Path) -> Result<Self> {
        use std::io::{BufRead, BufReader};
        use std::process::Stdio;
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .spawn()
            .context("Starting dbus-daemon")?;
        let mut address = String::new();
        BufReader::new(bus.stdout.take().expect("piped")).read_line(&mut address)?;
        let address = address.trim().to_owned();
        let service = Command::new(backend_exe())
            .arg("--sysroot")
            .arg(sysroot)
            .args(["serve", "--idle-timeout", "0", "--address", &address])
            .spawn();
        let service = match service {
            Ok(service) => service,
            Err(err) => {
                let _ = bus.kill();
                let _ = bus.wait();
                return Err(err.into());
            }
        };
        Ok(Self {
            bus,
            service,
            address,
        })
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        for child in [&mut self.service, &mut self.bus] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn dbus_rows(system: &str, sysroot: &Path) -> Result<Vec<DbusRow>> {
    let status = OstreeDriver::open(sysroot, false)?.status()?;
    let size = format!(
        "{} × {}",
        status.deployments.len(),
        status.deployments.first().map_or(0, |d| d.package_count)
    );
    let served = Served::start(sysroot)?;
    let fail = |e: zbus::Error| Error::Failed(format!("D-Bus: {e}"));
    let conn = zbus::blocking::connection::Builder::address(served.address.as_str())
        .map_err(fail)?
        .build()
        .map_err(fail)?;
    let name = keel_api::dbus::bus_name(sysroot);
    let proxy = zbus::blocking::Proxy::new(
        &conn,
        name.as_str(),
        keel_api::dbus::OBJECT_PATH,
        keel_api::dbus::INTERFACE,
    )
    .map_err(fail)?;
    let get_status = || -> Result<()> {
        let _: keel_api::dbus::StatusRecord = proxy.call("GetStatus", &()).map_err(fail)?;
        Ok(())
    };
    let get_packages = || -> Result<()> {
        let _: Vec<keel_api::packages::Package> =
            proxy.call("GetPackages", &("0",)).map_err(fail)?;
        Ok(())
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while get_status().is_err() {
        if Instant::now() > deadline {
            return Err(Error::Failed(
                "The service did not come up within 30 s.".to_owned(),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let times = |call: &dyn Fn() -> Result<()>, n: usize| -> Result<Timing> {
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            let started = Instant::now();
            call()?;
            samples.push(started.elapsed());
        }
        Ok(Timing::of(samples))
    };
    let status_times = times(&get_status, 1000)?;
    let packages_times = times(&get_packages, 200)?;
    drop(served);
    Ok(vec![
        DbusRow {
            system: system.to_owned(),
            size: size.clone(),
            call: "GetStatus",
            keel: status_times,
            cli: Some(Timing::of(time_admin_status(sysroot, 20)?)),
        },
        DbusRow {
            system: system.to_owned(),
            size,
            call: "GetPackages(0)",
            keel: packages_times,
            cli: None,
        },
    ])
}

fn print_dbus_table(rows: &[DbusRow]) {
    let ms = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1000.0);
    println!(
        "| {:<12} | {:<12} | {:<14} | {:>8} | {:>8} | {:>15} | {:>15} | {:>9} |",
        "over D-Bus",
        "depl × pkgs",
        "call",
        "p50 ms",
        "p99 ms",
        "admin st. p50",
        "admin st. p99",
        "p50 ratio"
    );
    println!(
        "|{:-<14}|{:-<14}|{:-<16}|{:->10}|{:->10}|{:->17}|{:->17}|{:->11}|",
        "", "", "", "", "", "", "", ""
    );
    for row in rows {
        let (cli50, cli99, ratio) = match &row.cli {
            Some(cli) => (
                ms(cli.p50),
                ms(cli.p99),
                format!("{:.3}×", row.keel.p50.as_secs_f64() / cli.p50.as_secs_f64()),
            ),
            None => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
        };
        println!(
            "| {:<12} | {:<12} | {:<14} | {:>8} | {:>8} | {:>15} | {:>15} | {:>9} |",
            row.system,
            row.size,
            row.call,
            ms(row.keel.p50),
            ms(row.keel.p99),
            cli50,
            cli99,
            ratio
        );
    }
    println!("Target: GetStatus p50 ≤ 2 ms; admin st. = `ostree admin status` as a whole process.");
}

/// A remote with two commits of `files` files (the second changes a twentieth of them) and a
/// sysroot that has the first deployed, copied afresh for every measured run.
struct Fixture {
    dir: PathBuf,
    files: usize,
}

impl Fixture {
    fn new(root: &Path, files: usize) -> Result<Self> {
        let dir = root.join(files.to_string());
        let remote = ostree::Repo::new_for_path(dir.join("remote"));
        std::fs::create_dir_all(&dir).context("Making the bench folder")?;
        remote
            .create(ostree::RepoMode::Archive, ostree::gio::Cancellable::NONE)
            .context("Making the remote")?;
        let meta = |v: &str| {
            let d = glib::VariantDict::new(None);
            d.insert_value("version", &glib::prelude::ToVariant::to_variant(v));
            d
        };
        write_tree_commit(
            &remote,
            BRANCH,
            None,
            "1",
            &meta("1"),
            &tree(files, 1),
            1_700_000_000,
        )
        .context("Committing the first tree")?;
        let url = format!("file://{}", dir.join("remote").display());
        let sysroot = init_sysroot(&dir.join("template"), STATEROOT, REMOTE, &url)
            .context("Making the sysroot")?;
        deploy_branch(&sysroot, STATEROOT, REMOTE, BRANCH, None)
            .context("Deploying the first tree")?;
        let first = remote.require_rev(BRANCH)?;
        write_tree_commit(
            &remote,
            BRANCH,
            Some(&first),
            "2",
            &meta("2"),
            &tree(files, 2),
            1_700_086_400,
        )?;
        Ok(Self { dir, files })
    }

    /// A fresh copy of the template sysroot (cp keeps the hard links between checkouts and repo).
    fn fresh(&self, name: &str) -> Result<PathBuf> {
        let path = self.dir.join(name);
        if path.exists() {
            keel_backend::demo::remove_tree(&path)?;
        }
        run_ok(
            Command::new("cp")
                .arg("-a")
                .arg(self.dir.join("template"))
                .arg(&path),
        )?;
        Ok(path)
    }

    fn measure(&self, runs: usize) -> Result<Vec<Row>> {
        let phases = Phases::new(Arc::new(Silent));
        let mut keel_update = Vec::new();
        let mut cli_update = Vec::new();
        let mut keel_rollback = Vec::new();
        let mut cli_rollback = Vec::new();
        for _ in 0..runs {
            let path = self.fresh("keel")?;
            let system = OstreeDriver::open(&path, false)?;
            let started = Instant::now();
            system.update(false, &phases, &Cancel::default())?;
            keel_update.push(started.elapsed());
            let started = Instant::now();
            system.rollback(None, &phases)?;
            keel_rollback.push(started.elapsed());

            let path = self.fresh("cli")?;
            let repo = format!("--repo={}", path.join("ostree/repo").display());
            let sysroot = format!("--sysroot={}", path.display());
            let started = Instant::now();
            // The same steps: a verified pull from the same remote, then a deployment.
            run_ok(Command::new("ostree").args([&repo, "pull", "--untrusted", REMOTE, BRANCH]))?;
            run_ok(Command::new("ostree").args([
                "admin",
                "deploy",
                &sysroot,
                "--os",
                STATEROOT,
                &format!("{REMOTE}:{BRANCH}"),
            ]))?;
            cli_update.push(started.elapsed());
            let started = Instant::now();
            run_ok(Command::new("ostree").args(["admin", "set-default", &sysroot, "1"]))?;
            cli_rollback.push(started.elapsed());
        }
        let files = self.files.to_string();
        let mut rows = vec![
            Row {
                operation: "update (pull + deploy)".to_owned(),
                files: files.clone(),
                keel: median(&mut keel_update),
                cli: Some((
                    "pull --untrusted + admin deploy".to_owned(),
                    median(&mut cli_update),
                )),
            },
            Row {
                operation: "rollback".to_owned(),
                files: files.clone(),
                keel: median(&mut keel_rollback),
                cli: Some(("admin set-default 1".to_owned(), median(&mut cli_rollback))),
            },
        ];
        let path = self.fresh("status")?;
        let system = OstreeDriver::open(&path, false)?;
        let mut keel_status = Vec::new();
        for _ in 0..(runs * 20).max(20) {
            let started = Instant::now();
            system.status()?;
            keel_status.push(started.elapsed());
        }
        let mut cli_status = time_admin_status(&path, runs.max(5))?;
        rows.push(Row {
            operation: "status (in process)".to_owned(),
            files,
            keel: median(&mut keel_status),
            cli: Some(("admin status (process)".to_owned(), median(&mut cli_status))),
        });
        Ok(rows)
    }
}

/// `files` files in a hundred folders, plus what a bootable tree needs; `version` changes every
/// twentieth file.
fn tree(files: usize, version: u32) -> Vec<TreeFile> {
    let regular = |path: String, bytes: Vec<u8>| TreeFile {
        path,
        contents: FileContents::Regular(bytes),
        mode: 0o644,
    };
    let mut tree = vec![
        regular(
            "usr/lib/os-release".to_owned(),
            format!("NAME=\"Keel Bench\"\nID=keelbench\nVERSION_ID={version}\nPRETTY_NAME=\"Keel Bench {version}\"\n")
                .into_bytes(),
        ),
        regular("usr/lib/modules/6.11.4/vmlinuz".to_owned(), b"kernel 6.11.4".to_vec()),
        regular("usr/lib/modules/6.11.4/initramfs.img".to_owned(), b"initramfs 6.11.4".to_vec()),
        regular("usr/etc/hostname".to_owned(), b"bench\n".to_vec()),
    ];
    for i in 0..files {
        let changed = if i % 20 == 0 { version } else { 1 };
        let body = format!("file {i} of the benchmark tree, revision {changed}\n").repeat(8);
        tree.push(regular(
            format!("usr/share/bench/d{:02}/f{i:06}", i % 100),
            body.into_bytes(),
        ));
    }
    tree
}

/// How long `ostree admin status` takes as a process, `runs` times.
fn time_admin_status(sysroot: &Path, runs: usize) -> Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        run_ok(Command::new("ostree").args([
            "admin",
            "status",
            &format!("--sysroot={}", sysroot.display()),
        ]))?;
        times.push(started.elapsed());
    }
    Ok(times)
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn run_ok(command: &mut Command) -> Result<()> {
    let out = command.output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

fn print_table(rows: &[Row]) {
    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1000.0);
    println!(
        "| {:<22} | {:>6} | {:>10} | {:<32} | {:>10} | {:>7} |",
        "operation", "files", "keel ms", "ostree CLI", "CLI ms", "ratio"
    );
    println!(
        "|{:-<24}|{:->8}|{:->12}|{:-<34}|{:->12}|{:->9}|",
        "", "", "", "", "", ""
    );
    for row in rows {
        let (name, cli) = row.cli.clone().unwrap_or_default();
        let ratio = if cli.is_zero() {
            "-".to_owned()
        } else {
            format!("{:.2}×", row.keel.as_secs_f64() / cli.as_secs_f64())
        };
        println!(
            "| {:<22} | {:>6} | {:>10} | {:<32} | {:>10} | {:>7} |",
            row.operation,
            row.files,
            ms(row.keel),
            name,
            ms(cli),
            ratio
        );
    }
}
