//! A private session bus, for `keel-backend serve` in the rpm-ostree tests and benchmark.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Starts a dbus-daemon of its own; returns it and its address.
pub fn start_session_bus() -> std::io::Result<(Child, String)> {
    let mut bus = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut address = String::new();
    BufReader::new(bus.stdout.take().expect("piped")).read_line(&mut address)?;
    Ok((bus, address.trim().to_owned()))
}
