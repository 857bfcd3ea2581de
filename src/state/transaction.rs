//! Running transactions: starting one, following its progress to the end, cancelling it, and
//! waiting for another program that holds the system. Methods of `KeelSystem`.

use std::time::{Duration, Instant};

use gettextrs::gettext;
use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use zbus::zvariant::OwnedObjectPath;

use super::KeelSystem;
use crate::client::{Operation, Progress};
use crate::error::UiError;
use crate::format;

impl KeelSystem {
    /// Runs one operation as a transaction, with progress, and reports how it ended. When something
    /// else is changing the system, offers (in a dialog over `parent`) to wait: for Keel's own
    /// running transaction, or, when another program holds the sysroot, by trying again every
    /// second until it lets go.
    pub async fn run(&self, op: Operation, parent: &gtk::Widget) {
        if let Some(message) = self.run_quietly(op.clone(), parent).await {
            self.toast(&self.outcome(&op, &message));
        }
    }

    /// Checks for updates of the OS and then of the apps, and says what both found in one toast.
    /// With no Flatpak installed it checks the OS alone (a computer without the `flatpak`
    /// command would otherwise hear of it at every check).
    pub async fn check_all(&self, parent: &gtk::Widget) {
        if self.run_quietly(Operation::Check, parent).await.is_none() {
            return;
        }
        let os_update = self
            .with_status(|s| s.cached_update.is_some())
            .unwrap_or(false);
        if self.apps().n_items() == 0 {
            self.toast(&format::check_result(os_update));
            return;
        }
        let text = match self.run_quietly(Operation::AppsCheck, parent).await {
            Some(_) => format::check_all_result(os_update, self.app_updates()),
            None => format::check_result(os_update),
        };
        self.toast(&text);
    }

    /// What the toast says after `op` succeeded with the backend's `message`.
    fn outcome(&self, op: &Operation, message: &str) -> String {
        match op {
            Operation::Check => format::check_result(
                self.with_status(|s| s.cached_update.is_some())
                    .unwrap_or(false),
            ),
            Operation::AppsCheck => format::apps_check_result(self.app_updates()),
            // The backend's sentence says what happened to each part (and to which apps).
            Operation::UpdateAll
            | Operation::AppsUpdate(_)
            | Operation::AppsUninstall { .. }
            | Operation::AppsRemoveUnused
                if !message.is_empty() =>
            {
                message.to_owned()
            }
            _ => format::success_message(
                op,
                self.with_status(|s| s.capabilities.can_reboot)
                    .unwrap_or(false),
            ),
        }
    }

    /// [`KeelSystem::run`] without the toast: the backend's closing message when it succeeded;
    /// None when it failed (reported), was cancelled or the person chose not to wait.
    async fn run_quietly(&self, op: Operation, parent: &gtk::Widget) -> Option<String> {
        let client = self.client()?;
        let imp = self.imp();
        let mut waiting = false;
        loop {
            if waiting {
                self.set_busy(true);
                self.set_string(
                    &imp.progress_text,
                    &gettext("Waiting for the other program to finish…"),
                    "progress-text",
                );
                glib::timeout_future(Duration::from_secs(1)).await;
                if imp.wait_cancelled.take() {
                    imp.waiting.set(false);
                    self.set_busy(false);
                    self.toast(&gettext("Stopped waiting; nothing was changed"));
                    return None;
                }
            }
            // From here the transaction is this window's own: Cancel cancels it.
            imp.waiting.set(false);
            let result = match client.start(op.clone()).await {
                Ok(path) => self.track(path).await,
                Err(err) => Err(err),
            };
            match result {
                Ok(message) => return Some(message),
                Err(err) if err.is_busy() => {
                    if !waiting {
                        if !crate::feedback::offer_to_wait(parent, &err).await {
                            return None;
                        }
                        waiting = true;
                        imp.wait_cancelled.set(false);
                    }
                    imp.waiting.set(true);
                    if let Some(active) = client.active_transaction().await {
                        self.follow(active).await;
                    }
                }
                Err(err) => {
                    if waiting {
                        self.set_busy(false);
                    }
                    self.report_failure(&err);
                    return None;
                }
            }
        }
    }

    /// Follows a transaction that is already running (started by another window, or before Keel
    /// was opened) and reports a failure.
    pub(super) async fn follow(&self, path: OwnedObjectPath) {
        if let Err(err) = self.track(path).await {
            self.report_failure(&err);
        }
    }

    /// Shows a transaction's progress until it ends, then reads the system again.
    async fn track(&self, path: OwnedObjectPath) -> Result<String, UiError> {
        let Some(client) = self.client() else {
            return Err(UiError::new(
                gettext("Keel cannot reach its backend"),
                String::new(),
            ));
        };
        let imp = self.imp();
        imp.running.replace(Some(path.clone()));
        self.set_busy(true);
        let operation = client.operation(path.clone()).await;
        if let Some(operation) = operation {
            self.set_string(
                &imp.running_operation,
                operation.as_str(),
                "running-operation",
            );
        }
        let system = self.downgrade();
        let result = client
            .follow(path, move |p: Progress| {
                if let Some(system) = system.upgrade() {
                    system.show_progress(&p);
                }
            })
            .await;
        imp.running.replace(None);
        self.set_busy(false);
        self.refresh().await;
        if operation.is_some_and(super::apps::touches_apps) {
            self.refresh_apps().await;
        }
        // Cleared after the read: what the Updates row says next is the fresh status.
        self.set_string(&imp.running_operation, "", "running-operation");
        result
    }

    /// A cancellation is no error: a toast says nothing changed; anything else is reported.
    fn report_failure(&self, err: &UiError) {
        if err.is_cancelled() {
            self.toast(&gettext("Cancelled; nothing was changed"));
        } else {
            self.report(err);
        }
    }

    /// The fraction follows every report. The text changes with each new phase, and otherwise at
    /// most four times a second: a new text re-lays out the page, and nobody reads faster.
    fn show_progress(&self, p: &Progress) {
        let imp = self.imp();
        if imp.progress_fraction.replace(p.fraction) != p.fraction {
            self.notify_progress_fraction();
        }
        let now = Instant::now();
        let new_phase = *imp.progress_phase.borrow() != p.phase;
        let due = imp
            .progress_text_at
            .get()
            .is_none_or(|at| now.duration_since(at) >= Duration::from_millis(250));
        if !(new_phase || due || p.fraction >= 1.0) {
            return;
        }
        imp.progress_phase.replace(p.phase.clone());
        imp.progress_text_at.set(Some(now));
        let text = format::progress_text(&p.phase, &p.message, p.fraction);
        self.set_string(&imp.progress_text, &text, "progress-text");
    }

    fn set_busy(&self, busy: bool) {
        let imp = self.imp();
        if busy {
            imp.progress_phase.take();
            imp.progress_text_at.set(None);
            imp.progress_fraction.set(0.0);
            self.notify_progress_fraction();
            self.set_string(&imp.progress_text, &gettext("Starting…"), "progress-text");
        }
        self.set_bool(&imp.busy, busy, "busy");
    }

    /// Cancels the running transaction, or stops waiting for another program to finish (the
    /// transaction followed meanwhile is someone else's: it is left to run).
    pub async fn cancel(&self) {
        if self.imp().waiting.get() {
            self.imp().wait_cancelled.set(true);
            return;
        }
        let running = self.imp().running.borrow().clone();
        let (Some(client), Some(path)) = (self.client(), running) else {
            self.imp().wait_cancelled.set(true);
            return;
        };
        if let Err(err) = client.cancel(path).await {
            self.report(&err);
        }
    }
}
