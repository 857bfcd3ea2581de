//! Running the `flatpak` command: an argument list (never a shell string), untranslated output
//! (`LC_ALL=C.UTF-8`: English words to read, but names and quotes intact — it falls back to plain C
//! where that locale is missing), `-y` so nothing is asked, and the installation named with
//! `--user`, `--system` or `--installation=NAME`. Inside a Flatpak sandbox the same command runs on
//! the host through `flatpak-spawn --host`.
//!
//! `--noninteractive` is deliberately not passed: it also stops flatpak's system helper from asking
//! polkit interactively, so changing the system installation would be refused outright where
//! flatpak in a terminal asks for a password.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keel_api::i18n::{fill, gettext};

use super::output::{Position, Tracker, Verb};
use super::{Cancel, Installation, Installations};
use crate::error::{Error, Result};
use crate::progress::Phases;

/// One `flatpak` invocation on one installation.
pub struct Run {
    pub installation: Installation,
    /// After the command name and before the installation's option: `["update", "-y"]`.
    pub args: Vec<String>,
    /// Refs, after the options.
    pub refs: Vec<String>,
}

/// How a run's steps are worded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wording {
    Download,
    Change,
}

/// The program to start and its arguments and environment, for `args` on `installation`.
pub struct CommandLine {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(&'static str, OsString)>,
}

/// Builds the command line for `run`: `flatpak …` directly, or through `flatpak-spawn --host`
/// with the environment passed as `--env=` options (the host process does not inherit ours).
pub fn command_line(
    installations: &Installations,
    run: &Run,
    search_path: Option<&OsString>,
    through_host: bool,
) -> Result<CommandLine> {
    let mut env: Vec<(&'static str, OsString)> = vec![
        ("LC_ALL", "C.UTF-8".into()),
        ("LANGUAGE", "".into()),
        ("FLATPAK_FANCY_OUTPUT", "0".into()),
    ];
    env.extend(installations.command_env());
    let mut flatpak_args: Vec<OsString> = run.args.iter().map(OsString::from).collect();
    flatpak_args.push(run.installation.scope_argument().into());
    if !run.refs.is_empty() {
        // Refs never start with "-", but a damaged one must not become an option.
        flatpak_args.push("--".into());
        flatpak_args.extend(run.refs.iter().map(OsString::from));
    }
    if !through_host {
        let program = find_program("flatpak", search_path).ok_or_else(not_installed)?;
        return Ok(CommandLine {
            program,
            args: flatpak_args,
            env,
        });
    }
    let program = find_program("flatpak-spawn", search_path).ok_or_else(|| {
        Error::Failed(gettext(
            "flatpak-spawn is missing from Keel’s sandbox, so the host’s Flatpaks cannot be changed. Reinstall Keel.",
        ))
    })?;
    let mut args: Vec<OsString> = vec!["--host".into()];
    for (key, value) in &env {
        let mut option = OsString::from(format!("--env={key}="));
        option.push(value);
        args.push(option);
    }
    args.push("flatpak".into());
    args.extend(flatpak_args);
    Ok(CommandLine {
        program,
        args,
        env: Vec::new(),
    })
}

pub fn find_program(name: &str, search_path: Option<&OsString>) -> Option<PathBuf> {
    let path = search_path
        .cloned()
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

pub fn not_installed() -> Error {
    Error::Failed(gettext(
        "Flatpak is not installed on this computer, so apps cannot be updated or removed here. Install the “flatpak” package to manage apps; the system itself can still be updated.",
    ))
}

/// Runs `line`, reporting its progress within `slice` of `phases`, until it ends or `cancel`
/// stops it. Returns what its output said.
pub fn run(
    line: &CommandLine,
    installation: &Installation,
    wording: Wording,
    names: &HashMap<String, String>,
    (phases, slice, phase): (&Phases, (f64, f64), &str),
    cancel: &Cancel,
) -> Result<Tracker> {
    if cancel.is_cancelled() {
        return Err(cancelled());
    }
    let mut command = Command::new(&line.program);
    command
        .args(&line.args)
        .envs(line.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    tracing::debug!(?command, "running flatpak");
    let mut child = command.spawn().map_err(|err| {
        if err.kind() == std::io::ErrorKind::NotFound {
            not_installed()
        } else {
            Error::Failed(fill(
                // Translators: {error} is the system’s reason.
                &gettext("The flatpak command could not be started: {error}"),
                &[("error", &err.to_string())],
            ))
        }
    })?;
    let running = Arc::new(Mutex::new(Some(rustix::process::Pid::from_child(&child))));
    {
        let running = running.clone();
        cancel.on_cancel(move || stop(&running));
    }
    let stderr = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    });
    let mut tracker = Tracker::default();
    if let Some(stdout) = child.stdout.take() {
        for text in BufReader::new(stdout).lines() {
            let Ok(text) = text else { break };
            tracing::debug!(line = %text, "flatpak");
            if let Some(position) = tracker.feed(&text) {
                let message = step_message(&position, wording, names);
                phases.at(slice.0, slice.1, position.fraction, phase, &message, (0, 0));
            }
        }
    }
    let status = child.wait();
    *running.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    for text in stderr.lines() {
        tracing::debug!(line = %text, "flatpak (stderr)");
        tracker.feed(text);
    }
    let status = status.map_err(Error::from)?;
    // Finished before the stop reached it: it did all it was asked.
    if status.success() {
        return Ok(tracker);
    }
    if cancel.is_cancelled() {
        return Err(cancelled());
    }
    Err(failure(installation, &tracker, &stderr, status.code()))
}

/// Asks the running command to stop (flatpak-spawn passes the signal on to the host's flatpak),
/// and kills it when it has not after a few seconds.
fn stop(running: &Arc<Mutex<Option<rustix::process::Pid>>>) {
    let signal = |sig| {
        if let Some(pid) = *running.lock().unwrap_or_else(|e| e.into_inner()) {
            let _ = rustix::process::kill_process(pid, sig);
        }
    };
    signal(rustix::process::Signal::TERM);
    let running = running.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(5));
        if let Some(pid) = *running.lock().unwrap_or_else(|e| e.into_inner()) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    });
}

fn cancelled() -> Error {
    Error::Cancelled(gettext(
        "Stopped. What flatpak had finished before stays done; nothing is left half-changed.",
    ))
}

fn step_message(position: &Position, wording: Wording, names: &HashMap<String, String>) -> String {
    let name = position
        .id
        .as_ref()
        .map(|id| names.get(id).unwrap_or(id).clone())
        .unwrap_or_default();
    let template = match (wording, position.verb, name.is_empty()) {
        // Translators: {name} is an app’s name; {number} of {total} count the operations.
        (Wording::Download, _, false) => gettext("Downloading {name} ({number} of {total})"),
        // Translators: {number} of {total} count the operations.
        (Wording::Download, _, true) => gettext("Downloading ({number} of {total})"),
        // Translators: {name} is an app’s name; {number} of {total} count the operations.
        (_, Verb::Installing, false) => gettext("Installing {name} ({number} of {total})"),
        // Translators: {name} is an app’s name; {number} of {total} count the operations.
        (_, Verb::Updating, false) => gettext("Updating {name} ({number} of {total})"),
        // Translators: {name} is an app’s name; {number} of {total} count the operations.
        (_, Verb::Uninstalling, false) => gettext("Uninstalling {name} ({number} of {total})"),
        // Translators: {number} of {total} count the operations.
        (_, _, true) => gettext("Step {number} of {total}"),
    };
    fill(
        &template,
        &[
            ("name", &name),
            ("number", &position.number.to_string()),
            ("total", &position.total.to_string()),
        ],
    )
}

/// The typed error for a run that failed: a refused authorisation is `PermissionDenied`, flatpak
/// missing on the host `Failed` with the sentence saying so, anything else `Failed` with flatpak's
/// own last error.
pub fn failure(
    installation: &Installation,
    tracker: &Tracker,
    stderr: &str,
    code: Option<i32>,
) -> Error {
    let said = tracker
        .errors
        .last()
        .cloned()
        .or_else(|| {
            stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| match code {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".to_owned(),
        });
    let refused = ["not allowed for user", "AccessDenied", "Not authorized"];
    if refused.iter().any(|r| stderr.contains(r)) {
        return Error::PermissionDenied(fill(
            // Translators: {name} is "system" or a configured installation’s name; {detail}
            // flatpak’s own words.
            &gettext(
                "Changing the Flatpak installation “{name}” was not allowed; nothing was changed ({detail}).",
            ),
            &[("name", &installation.name), ("detail", &said)],
        ));
    }
    // flatpak-spawn's answer when the host has no flatpak.
    if stderr.contains("Failed to execute child process") && stderr.contains("flatpak") {
        return not_installed();
    }
    Error::Failed(fill(
        // Translators: {detail} is flatpak’s own message (in English).
        &gettext("flatpak failed: {detail}"),
        &[("detail", &said)],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> Installation {
        Installation {
            name: "user".into(),
            path: "/nonexistent".into(),
        }
    }

    #[test]
    fn a_polkit_refusal_is_permission_denied() {
        let stderr =
            "Looking for updates…\nerror: Flatpak system operation Deploy not allowed for user\n";
        let mut tracker = Tracker::default();
        stderr.lines().for_each(|l| {
            tracker.feed(l);
        });
        let system = Installation {
            name: "system".into(),
            path: "/var/lib/flatpak".into(),
        };
        let err = failure(&system, &tracker, stderr, Some(1));
        assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");
        assert!(
            err.message()
                .contains("“system” was not allowed; nothing was changed")
        );
        assert!(err.message().contains("Deploy not allowed for user"));
    }

    #[test]
    fn other_failures_carry_flatpaks_last_error() {
        let stderr = "error: No remote refs found for ‘org.test.Nope’\n";
        let mut tracker = Tracker::default();
        tracker.feed(stderr.trim());
        let err = failure(&user(), &tracker, stderr, Some(1));
        assert!(matches!(err, Error::Failed(_)));
        assert_eq!(
            err.message(),
            "flatpak failed: No remote refs found for ‘org.test.Nope’"
        );
        let silent = failure(&user(), &Tracker::default(), "", Some(3));
        assert_eq!(silent.message(), "flatpak failed: exit status 3");
        let spawn = "Failed to execute child process “flatpak” (No such file or directory)";
        assert_eq!(
            failure(&user(), &Tracker::default(), spawn, Some(1)).message(),
            not_installed().message()
        );
    }

    #[test]
    fn the_host_route_passes_the_environment_as_options() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["flatpak", "flatpak-spawn"] {
            let path = dir.path().join(name);
            std::fs::write(&path, "#!/bin/sh\n").unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let installations = Installations::at(None, &dir.path().join("inst/user"), None);
        let run = Run {
            installation: user(),
            args: vec!["update".into(), "-y".into()],
            refs: vec!["app/org.a/x86_64/stable".into()],
        };
        let search = OsString::from(dir.path());
        let host = command_line(&installations, &run, Some(&search), true).unwrap();
        assert_eq!(host.program, dir.path().join("flatpak-spawn"));
        let args: Vec<String> = host
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let user_dir = format!(
            "--env=FLATPAK_USER_DIR={}",
            dir.path().join("inst/user").display()
        );
        assert_eq!(args[0], "--host");
        assert!(args.contains(&"--env=LC_ALL=C.UTF-8".to_owned()));
        assert!(args.contains(&user_dir), "{args:?}");
        let tail = &args[args.iter().position(|a| a == "flatpak").unwrap()..];
        assert_eq!(
            tail,
            [
                "flatpak",
                "update",
                "-y",
                "--user",
                "--",
                "app/org.a/x86_64/stable"
            ]
        );
        assert!(host.env.is_empty());

        let direct = command_line(&installations, &run, Some(&search), false).unwrap();
        assert_eq!(direct.program, dir.path().join("flatpak"));
        assert!(direct.env.iter().any(
            |(k, v)| *k == "FLATPAK_USER_DIR" && v == dir.path().join("inst/user").as_os_str()
        ));

        let empty = OsString::from(dir.path().join("nothing-here"));
        let err = command_line(&installations, &run, Some(&empty), false)
            .err()
            .unwrap();
        assert_eq!(err.message(), not_installed().message());
    }
}
