//! The sandbox route: inside the Flatpak, rpm-ostreed's transaction socket (in the host's `/run`)
//! is out of reach, so each change is the `rpm-ostree` command run on the host through
//! `flatpak-spawn --host`, as an argument list (never a shell string). Progress is its output,
//! line by line; errors are its last words; Cancel is `rpm-ostree cancel`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use super::host::{Tracker, failed, refused};
use super::ops::Op;
use super::{Route, RpmOstreeDriver};
use crate::driver::Cancel;
use crate::error::{Error, Result};
use crate::progress::Phases;
use keel_api::i18n::{fill, gettext};

/// `rpm-ostree upgrade --check`'s exit status when there is nothing new.
const NOTHING_NEW: i32 = 77;

/// The full command line for a host command, for this route.
pub(super) fn host_command(route: Route, program: &str, args: &[String]) -> Vec<String> {
    let mut argv = Vec::new();
    if route == Route::Sandbox {
        argv.extend(["flatpak-spawn".to_owned(), "--host".to_owned()]);
    }
    argv.push(program.to_owned());
    argv.extend(args.iter().cloned());
    argv
}

/// A finished command: its exit status and what it wrote on stderr.
pub(super) struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `argv`, handing each line of its output to `line` as it comes.
pub(super) fn spawn(argv: &[String], mut line: impl FnMut(&str)) -> Result<Ran> {
    tracing::info!("running {argv:?}");
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| {
            Error::Failed(fill(
                // Translators: {program} is a command ("flatpak-spawn"), {detail} the system's
                // own reason.
                &gettext("{program} could not be started ({detail})."),
                &[("program", &argv[0]), ("detail", &err.to_string())],
            ))
        })?;
    let mut stderr = child.stderr.take().expect("piped");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut stdout = String::new();
    for text in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let Ok(text) = text else { break };
        line(&text);
        stdout.push_str(&text);
        stdout.push('\n');
    }
    let status = child.wait()?;
    Ok(Ran {
        // A signal ends it without a code.
        code: status.code().unwrap_or(-1),
        stdout,
        stderr: errors.join().unwrap_or_default(),
    })
}

/// Runs one request as `rpm-ostree …` on the host.
pub(super) fn run(
    driver: &RpmOstreeDriver,
    op: &Op,
    phases: &Phases,
    cancel: &Cancel,
) -> Result<String> {
    let action = op.action();
    let argv = host_command(Route::Sandbox, "rpm-ostree", &op.command());
    let cancel_argv = host_command(Route::Sandbox, "rpm-ostree", &["cancel".to_owned()]);
    cancel.on_cancel(move || {
        if let Err(err) = spawn(&cancel_argv, |_| {}) {
            tracing::warn!("rpm-ostree cancel: {err}");
        }
    });
    let mut tracker = Tracker::new(phases, action.clone());
    let ran = spawn(&argv, |text| {
        let text = text.trim();
        if !text.is_empty() {
            tracker.task(text.to_owned());
        }
    })?;
    match ran.code {
        0 => Ok(ran.stdout),
        NOTHING_NEW if matches!(op, Op::Check) => Ok(ran.stdout),
        _ => Err(command_error(driver, &action, &ran, cancel)),
    }
}

/// A failed `rpm-ostree` (or pkexec) run as Keel's kinds.
pub(super) fn command_error(
    driver: &RpmOstreeDriver,
    action: &str,
    ran: &Ran,
    cancel: &Cancel,
) -> Error {
    let reason = ran
        .stderr
        .lines()
        .chain(ran.stdout.lines())
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| l.strip_prefix("error:").unwrap_or(l).trim().to_owned())
        .unwrap_or_else(|| format!("exit status {}", ran.code));
    // The command's words when rpm-ostreed vanished mid-way.
    if reason.contains("Bus owner changed") {
        return super::host::vanished(action, &reason);
    }
    if reason.contains("Transaction in progress") {
        return super::host::busy(driver, &ran.stderr.replace("error: ", ""));
    }
    if reason.contains("AccessDenied")
        || reason.contains("NotAuthorized")
        || reason.contains("not allowed")
    {
        return refused(action);
    }
    failed(action, &reason, cancel)
}
