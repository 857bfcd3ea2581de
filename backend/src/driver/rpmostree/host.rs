//! The host route: rpm-ostreed's transactions. The method call returns a peer-to-peer address;
//! Keel connects there, listens, and only then calls `Start()` (nothing runs before), follows the
//! signals into its one 0–1 figure, and closes the connection at `Finished` — the daemon keeps its
//! `ActiveTransaction` until the last peer has gone. A daemon that dies sends no `Finished`: the
//! connection just ends.

use std::sync::{Arc, Mutex};

use zbus::blocking::{Connection, MessageIterator};
use zbus::message::Type;

use super::ops::Op;
use super::proxy::TRANSACTION_INTERFACE;
use super::{RpmOstreeDriver, bus_error, is_refusal};
use crate::driver::Cancel;
use crate::error::{Error, Result};
use crate::progress::Phases;
use keel_api::i18n::{fill, gettext};

/// `DownloadProgress`: time, outstanding, metadata, delta, content (fetched, requested), transfer
/// (bytes, bytes per second).
type Download = (
    (u64, u64),
    (u32, u32),
    (u32, u32, u32),
    (u32, u32, u32, u64),
    (u32, u32),
    (u64, u64),
);

/// Runs one transaction to its end; on success, what the daemon said along the way.
pub(super) fn run(
    driver: &RpmOstreeDriver,
    op: &Op,
    phases: &Phases,
    cancel: &Cancel,
) -> Result<String> {
    let action = op.action();
    let address = driver
        .call(op)
        .map_err(|err| method_error(driver, err, &action))?;
    if address.is_empty() {
        return Err(Error::Failed(fill(
            // Translators: {action} is what was being done ("Checking for updates").
            &gettext("{action}: rpm-ostreed started no transaction."),
            &[("action", &action)],
        )));
    }
    let peer = zbus::blocking::connection::Builder::address(address.as_str())
        .and_then(|b| b.p2p().build())
        .map_err(|err| vanished(&action, &err.to_string()))?;
    // Listening starts before Start(), so no signal is missed.
    let signals = MessageIterator::from(&peer);
    let shared = Arc::new(Mutex::new(Some(peer.clone())));
    let for_cancel = shared.clone();
    cancel.on_cancel(move || {
        if let Some(peer) = &*for_cancel.lock().unwrap_or_else(|e| e.into_inner()) {
            let _ = peer.call_method(
                None::<&str>,
                "/",
                Some(TRANSACTION_INTERFACE),
                "Cancel",
                &(),
            );
        }
    });
    let started = peer.call_method(None::<&str>, "/", Some(TRANSACTION_INTERFACE), "Start", &());
    if let Err(err) = started {
        close(&shared);
        return Err(vanished(&action, &err.to_string()));
    }
    let mut tracker = Tracker::new(phases, action.clone());
    let finished = follow(signals, &mut tracker);
    // rpm-ostreed clears its ActiveTransaction only once every peer has left; the next request
    // (a rollback after its cleanup) would find it busy before that.
    close(&shared);
    drop(peer);
    wait_until_idle(driver);
    match finished {
        Some((true, _)) => Ok(tracker.said.join("\n")),
        Some((false, reason)) => Err(failed(&action, &reason, cancel)),
        None => Err(vanished(&action, "")),
    }
}

/// Waits (briefly) for rpm-ostreed to let go of the transaction just ended.
fn wait_until_idle(driver: &RpmOstreeDriver) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while std::time::Instant::now() < deadline {
        match driver.sysroot.active_transaction_path() {
            Ok(path) if !path.is_empty() => std::thread::sleep(std::time::Duration::from_millis(5)),
            _ => return,
        }
    }
}

fn close(shared: &Mutex<Option<Connection>>) {
    if let Some(peer) = shared.lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = peer.close();
    }
}

/// Reads signals until `Finished`; None when the connection ended without one.
fn follow(signals: MessageIterator, tracker: &mut Tracker<'_>) -> Option<(bool, String)> {
    for message in signals {
        let Ok(message) = message else {
            return None;
        };
        let header = message.header();
        if header.message_type() != Type::Signal
            || header.interface().map(|i| i.as_str()) != Some(TRANSACTION_INTERFACE)
        {
            continue;
        }
        let body = message.body();
        match header.member().map(|m| m.as_str()).unwrap_or_default() {
            "Finished" => return body.deserialize::<(bool, String)>().ok(),
            "Message" => {
                if let Ok(text) = body.deserialize::<String>() {
                    tracker.message(text);
                }
            }
            "TaskBegin" => {
                if let Ok(text) = body.deserialize::<String>() {
                    tracker.task(text);
                }
            }
            "PercentProgress" => {
                if let Ok((text, percent)) = body.deserialize::<(String, u32)>() {
                    tracker.within(f64::from(percent.min(100)) / 100.0, Some(text), (0, 0));
                }
            }
            "DownloadProgress" => {
                if let Ok((.., (fetched, requested), (bytes, _))) = body.deserialize::<Download>() {
                    let within = if requested > 0 {
                        f64::from(fetched) / f64::from(requested)
                    } else {
                        0.0
                    };
                    tracker.download(within, bytes);
                }
            }
            "TaskEnd" | "ProgressEnd" => tracker.end_run(),
            _ => {}
        }
    }
    None
}

/// Maps rpm-ostreed's runs of progress onto Keel's one figure: each run (a download, a
/// percentage, a task) takes a share of what is left before 0.95; the end is Keel's.
pub(super) struct Tracker<'a> {
    phases: &'a Phases,
    action: String,
    /// Where the current run started.
    base: f64,
    now: f64,
    message: String,
    /// Every message, for what the caller reads from them (the space a cleanup freed).
    pub said: Vec<String>,
}

const CEILING: f64 = 0.95;

impl<'a> Tracker<'a> {
    pub fn new(phases: &'a Phases, action: String) -> Self {
        let tracker = Self {
            phases,
            action,
            base: 0.0,
            now: 0.0,
            message: String::new(),
            said: Vec::new(),
        };
        tracker.report(0.0, (0, 0));
        tracker
    }

    fn report(&self, fraction: f64, bytes: (u64, u64)) {
        self.phases
            .at(fraction, fraction, 1.0, &self.action, &self.message, bytes);
    }

    pub fn message(&mut self, text: String) {
        self.said.push(text.clone());
        self.message = text;
        self.report(self.now, (0, 0));
    }

    /// A task without a figure: a small step.
    pub fn task(&mut self, text: String) {
        self.message = text;
        self.now += (CEILING - self.now) * 0.1;
        self.base = self.now;
        self.report(self.now, (0, 0));
    }

    pub fn within(&mut self, within: f64, text: Option<String>, bytes: (u64, u64)) {
        if let Some(text) = text {
            self.message = text;
        }
        self.now = self
            .now
            .max(self.base + (CEILING - self.base) * within.clamp(0.0, 1.0));
        self.report(self.now, bytes);
    }

    pub fn download(&mut self, within: f64, bytes: u64) {
        // Translators: the progress phase while rpm-ostree downloads an update.
        self.message = gettext("Downloading");
        self.within(within, None, (bytes, 0));
    }

    pub fn end_run(&mut self) {
        self.base = self.now;
    }
}

/// The method call's error: Busy names what runs (also another program's transaction).
fn method_error(driver: &RpmOstreeDriver, err: zbus::Error, action: &str) -> Error {
    if let zbus::Error::MethodError(name, message, _) = &err {
        let detail = message.clone().unwrap_or_default();
        if name.as_str().ends_with("Code26") || name.as_str().ends_with("UpdateInProgress") {
            return busy(driver, &detail);
        }
        if is_refusal(name.as_str(), &detail) {
            return refused(action);
        }
    }
    bus_error(err)
}

/// rpm-ostreed runs another transaction: named by its title (from the error) and its method.
pub(super) fn busy(driver: &RpmOstreeDriver, detail: &str) -> Error {
    let title = detail
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("Transaction in progress:"))
        .map(|t| t.trim().to_owned());
    let method = driver
        .sysroot
        .active_transaction()
        .ok()
        .map(|(method, _, _)| method)
        .filter(|m| !m.is_empty());
    let what = match (title, method) {
        (Some(t), Some(m)) => format!("{t} ({m})"),
        (Some(t), None) => t,
        (None, Some(m)) => m,
        (None, None) => detail.to_owned(),
    };
    Error::Busy(fill(
        // Translators: {what} is rpm-ostree's name for what it is doing ("upgrade (Upgrade)").
        &gettext(
            "rpm-ostree is busy with another operation: {what}. Wait for it to finish, or cancel it with `rpm-ostree cancel`.",
        ),
        &[("what", &what)],
    ))
}

/// polkit said no (or the password dialog was dismissed).
pub(super) fn refused(action: &str) -> Error {
    Error::PermissionDenied(fill(
        // Translators: {action} is what was being done ("Updating the system").
        &gettext("{action} was not allowed; nothing was changed."),
        &[("action", action)],
    ))
}

/// `Finished(false, reason)` as Keel's kinds.
pub(super) fn failed(action: &str, reason: &str, cancel: &Cancel) -> Error {
    let lower = reason.to_lowercase();
    if cancel.is_cancelled() || lower.contains("cancelled") || lower.contains("canceled") {
        Error::Cancelled(fill(
            // Translators: {action} is what was being done ("Updating the system").
            &gettext("{action} was cancelled; nothing was changed."),
            &[("action", action)],
        ))
    } else if is_refusal("", reason) || lower.contains("not authorized") {
        refused(action)
    } else {
        Error::Failed(fill(
            // Translators: {action} is what was being done, {reason} rpm-ostree's own (English)
            // reason.
            &gettext("{action} failed: {reason}"),
            &[("action", action), ("reason", reason)],
        ))
    }
}

/// The daemon went away mid-way (it crashed, or was restarted).
pub(super) fn vanished(action: &str, detail: &str) -> Error {
    tracing::warn!("rpm-ostreed's transaction ended without Finished: {detail}");
    Error::Failed(fill(
        // Translators: {action} is what was being done ("Updating the system").
        &gettext(
            "{action}: rpm-ostreed stopped before it finished (it may have crashed). Keel has read the system again; look at what it shows before trying again.",
        ),
        &[("action", action)],
    ))
}
