//! The System page's dialogs: roll back (which deployment boots next), clean up (what goes and
//! the space it frees), compare with the booted deployment, and local configuration changes.

use adw::prelude::*;
use gettextrs::gettext;
use keel_api::model::Deployment;

use super::KeelSystemPage;
use crate::client::Operation;
use crate::error::UiError;
use crate::format;

impl KeelSystemPage {
    /// Asks before rolling back to `target` (None: the deployment the backend marks as the
    /// rollback one, or the booted one while something else waits for the next boot).
    pub(super) async fn confirm_rollback(&self, target: Option<String>) {
        let system = self.system();
        let chosen = system.with_status(|status| {
            let chosen: Option<&Deployment> = match &target {
                Some(id) => status.find(id),
                None => status.find("rollback").or_else(|| {
                    status
                        .deployments
                        .iter()
                        .any(|d| d.pending)
                        .then(|| status.booted())
                        .flatten()
                }),
            };
            chosen.map(|d| {
                format::system_name(&status.os_name, d.version.as_deref().unwrap_or_default())
            })
        });
        let Some(name) = chosen.flatten() else {
            system.report(&UiError::new(
                gettext("Nothing to Roll Back To"),
                gettext("There is no other deployment to boot."),
            ));
            return;
        };
        let dialog = adw::AlertDialog::new(
            Some(&gettext("Roll Back?")),
            Some(
                &gettext("{} will start at the next boot. Nothing is deleted: the other deployments stay available.")
                    .replace("{}", &name),
            ),
        );
        dialog.add_responses(&[
            ("cancel", &gettext("_Cancel")),
            ("rollback", &gettext("_Roll Back")),
        ]);
        dialog.set_response_appearance("rollback", adw::ResponseAppearance::Suggested);
        dialog.set_default_response(Some("rollback"));
        dialog.set_close_response("cancel");
        if dialog.choose_future(Some(self)).await == "rollback" {
            self.run(Operation::Rollback(target.unwrap_or_default()))
                .await;
        }
    }

    /// Asks before cleaning up, saying what goes and the space it frees (worked out by the backend
    /// while the dialog is already open).
    pub(super) async fn confirm_cleanup(&self) {
        let system = self.system();
        let Some(client) = system.client() else {
            return;
        };
        let dialog = adw::AlertDialog::new(
            Some(&gettext("Clean Up?")),
            Some(&gettext("Working out what can be removed…")),
        );
        dialog.add_responses(&[
            ("cancel", &gettext("_Cancel")),
            ("cleanup", &gettext("C_lean Up")),
        ]);
        dialog.set_response_appearance("cleanup", adw::ResponseAppearance::Destructive);
        dialog.set_response_enabled("cleanup", false);
        dialog.set_close_response("cancel");
        let chosen = dialog.clone().choose_future(Some(self));
        let estimate = client.estimate_cleanup();
        futures_util::pin_mut!(chosen, estimate);
        let chosen = match futures_util::future::select(chosen, estimate).await {
            futures_util::future::Either::Left((response, _)) => response,
            futures_util::future::Either::Right((estimate, chosen)) => {
                match estimate {
                    Ok(estimate) => {
                        let body = system
                            .with_status(|s| format::cleanup_summary(&estimate, Some(s)))
                            .unwrap_or_else(|| format::cleanup_summary(&estimate, None));
                        dialog.set_body(&body);
                        dialog.set_response_enabled(
                            "cleanup",
                            !estimate.deployments.is_empty() || estimate.bytes > 0,
                        );
                    }
                    Err(err) => {
                        dialog.force_close();
                        system.report(&err);
                        return;
                    }
                }
                chosen.await
            }
        };
        if chosen == "cleanup" {
            self.run(Operation::Cleanup {
                pending: true,
                rollback: true,
            })
            .await;
        }
    }

    pub(super) async fn compare(&self, id: String) {
        let system = self.system();
        let Some(client) = system.client() else {
            return;
        };
        match client.diff("booted", &id).await {
            Ok(diff) => self.present_list(
                &gettext("Compared with Booted"),
                &format::diff_summary(&diff),
                crate::pages::change_rows(&diff),
            ),
            Err(err) => system.report(&err),
        }
    }

    pub(super) async fn show_config_diff(&self, id: String) {
        let system = self.system();
        let Some(client) = system.client() else {
            return;
        };
        let diff = match client.config_diff(&id).await {
            Ok(diff) => diff,
            Err(err) => {
                system.report(&err);
                return;
            }
        };
        let mut rows = Vec::new();
        for (mark, files) in [
            (gettext("Modified"), &diff.modified),
            (gettext("Added"), &diff.added),
            (gettext("Removed"), &diff.removed),
            // Translators: a file in /etc that Keel was not allowed to read, so it may differ.
            (gettext("Could not be compared"), &diff.unreadable),
        ] {
            for f in files {
                rows.push(
                    adw::ActionRow::builder()
                        .title(gtk::glib::markup_escape_text(&format!("/etc/{f}")))
                        .subtitle(mark.as_str())
                        .build(),
                );
            }
        }
        let body = format::config_diff_summary(&diff);
        self.present_list(&gettext("Local Configuration Changes"), &body, rows);
    }

    /// A dialog with a short summary over a scrolling list of rows (none: the summary alone).
    fn present_list(&self, title: &str, body: &str, rows: Vec<adw::ActionRow>) {
        let dialog = adw::AlertDialog::new(Some(title), Some(body));
        if !rows.is_empty() {
            let list = gtk::ListBox::new();
            list.add_css_class("boxed-list");
            list.set_selection_mode(gtk::SelectionMode::None);
            for row in &rows {
                list.append(row);
            }
            let scroller = gtk::ScrolledWindow::builder()
                .child(&list)
                .propagate_natural_height(true)
                .max_content_height(360)
                .hscrollbar_policy(gtk::PolicyType::Never)
                .build();
            dialog.set_extra_child(Some(&scroller));
        }
        dialog.add_response("close", &gettext("_Close"));
        dialog.present(Some(self));
    }
}
