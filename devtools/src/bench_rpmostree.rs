//! The rpm-ostree case of `keel-devtools bench --dbus`: GetStatus through Keel (`keel-backend
//! --system serve`, whose system bus is a private one where the rpm-ostreed test double manages a
//! Fedora-scale sysroot), beside reading the double's `Sysroot.Deployments` directly in the same
//! run: the difference is Keel's share. `rpm-ostree status` is reported to take 14–40 ms on real
//! hosts; the target is a p50 of 5 ms or less end to end.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use keel_devtools::double::{double_exe, start_bus};

use crate::scale::{self, Scale};
use keel_backend::error::{Context, Error, Result};

const RUNS: usize = 1000;

/// Children stopped when dropped (also when a step fails).
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in self.0.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn connect(address: &str) -> Result<zbus::blocking::Connection> {
    zbus::blocking::connection::Builder::address(address)
        .and_then(|b| b.build())
        .map_err(|e| Error::Failed(format!("D-Bus: {e}")))
}

/// Waits up to 30 s for `name` on the bus at `address`.
fn wait_for_name(address: &str, name: &str) -> Result<()> {
    let conn = connect(address)?;
    let dbus = zbus::blocking::fdo::DBusProxy::new(&conn)
        .map_err(|e| Error::Failed(format!("D-Bus: {e}")))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let bus_name = zbus::names::BusName::try_from(name.to_owned())
        .map_err(|e| Error::Failed(e.to_string()))?;
    while !dbus.name_has_owner(bus_name.clone()).unwrap_or(false) {
        if Instant::now() > deadline {
            return Err(Error::Failed(format!(
                "{name} did not come up within 30 s."
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// Times `call` RUNS times: (p50, p99).
fn timed(mut call: impl FnMut() -> Result<()>) -> Result<(Duration, Duration)> {
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        call()?;
        samples.push(started.elapsed());
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Ok((at(0.5), at(0.99)))
}

pub fn run(scratch: &Path) -> Result<()> {
    let scale = Scale::default();
    eprintln!(
        "bench: the rpm-ostreed double on {} deployments × {} packages …",
        scale.deployments, scale.packages
    );
    let dir = scratch.join("rpm-ostree-scale");
    let sysroot = scale::make(&dir, scale)?;
    let (system_bus, system) = start_bus(&dir);
    let mut children = Children(vec![system_bus]);
    children.0.push(
        Command::new(double_exe("keel-rpmostreed-double"))
            .arg("--sysroot")
            .arg(&sysroot)
            .args(["--bus", &system])
            .arg("--transaction-socket")
            .arg(dir.join("transaction.sock"))
            .spawn()
            .context("Starting the rpm-ostreed double")?,
    );
    wait_for_name(&system, "org.projectatomic.rpmostree1")?;
    let (session_bus, session) = {
        use std::io::{BufRead, BufReader};
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("Starting dbus-daemon")?;
        let mut address = String::new();
        BufReader::new(bus.stdout.take().expect("piped")).read_line(&mut address)?;
        (bus, address.trim().to_owned())
    };
    children.0.push(session_bus);
    children.0.push(
        Command::new(double_exe("keel-backend"))
            .env("DBUS_SYSTEM_BUS_ADDRESS", &system)
            .env("XDG_STATE_HOME", &dir)
            .args([
                "--system",
                "serve",
                "--idle-timeout",
                "0",
                "--address",
                &session,
            ])
            .spawn()
            .context("Starting keel-backend")?,
    );
    wait_for_name(&session, keel_api::dbus::BUS_NAME)?;

    let fail = |e: zbus::Error| Error::Failed(format!("D-Bus: {e}"));
    let keel_conn = connect(&session)?;
    let keel = zbus::blocking::Proxy::new(
        &keel_conn,
        keel_api::dbus::BUS_NAME,
        keel_api::dbus::OBJECT_PATH,
        keel_api::dbus::INTERFACE,
    )
    .map_err(fail)?;
    let system_conn = connect(&system)?;
    let properties = zbus::blocking::fdo::PropertiesProxy::builder(&system_conn)
        .destination("org.projectatomic.rpmostree1")
        .and_then(|b| b.path("/org/projectatomic/rpmostree1/Sysroot"))
        .and_then(|b| b.build())
        .map_err(fail)?;
    let sysroot_iface = zbus::names::InterfaceName::from_static_str_unchecked(
        "org.projectatomic.rpmostree1.Sysroot",
    );
    let get_status = || -> Result<()> {
        let _: keel_api::dbus::StatusRecord = keel.call("GetStatus", &()).map_err(fail)?;
        Ok(())
    };
    let first = Instant::now();
    get_status()?;
    let first = first.elapsed();
    let keel_times = timed(get_status)?;
    let direct_times = timed(|| {
        properties
            .get(sysroot_iface.clone(), "Deployments")
            .map(drop)
            .map_err(|e| Error::Failed(format!("D-Bus: {e}")))
    })?;
    drop(children);
    keel_backend::demo::remove_tree(&sysroot)?;
    std::fs::remove_dir_all(&dir)?;

    let ms = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1000.0);
    let size = format!("{} × {}", scale.deployments, scale.packages);
    println!();
    println!(
        "| {:<34} | {:<12} | {:>8} | {:>8} |",
        "rpm-ostree (double)", "depl × pkgs", "p50 ms", "p99 ms"
    );
    println!("|{:-<36}|{:-<14}|{:->10}|{:->10}|", "", "", "", "");
    for (what, (p50, p99)) in [
        ("GetStatus through Keel", keel_times),
        ("Sysroot.Deployments, read directly", direct_times),
    ] {
        println!(
            "| {what:<34} | {size:<12} | {:>8} | {:>8} |",
            ms(p50),
            ms(p99)
        );
    }
    println!(
        "First GetStatus (reads rpm-ostreed and the package lists): {} ms. Target: GetStatus p50 ≤ 5 ms; `rpm-ostree status` takes 14–40 ms on real hosts.",
        ms(first)
    );
    Ok(())
}
