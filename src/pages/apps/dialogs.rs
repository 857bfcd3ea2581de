//! The Apps page's confirmations: Uninstall (saying the app's data is kept unless the person
//! chooses to delete it) and Remove Unused Runtimes (how many, and the space freed).

use adw::prelude::*;
use keel_api::i18n::{fill, gettext};

use super::page::KeelAppsPage;
use crate::client::Operation;
use crate::format;

impl KeelAppsPage {
    /// Asks before uninstalling the app with `key`; nothing happens unless the person confirms.
    pub(super) async fn confirm_uninstall(&self, key: String) {
        let Some(app) = self.app(&key) else {
            return;
        };
        let name = app.name();
        let dialog = adw::AlertDialog::new(
            // Translators: {name} is the name of an app.
            Some(&fill(&gettext("Uninstall {name}?"), &[("name", &name)])),
            Some(&format::uninstall_body(&name)),
        );
        let delete_data = gtk::CheckButton::with_label(&gettext("Also delete its data"));
        delete_data.set_halign(gtk::Align::Center);
        dialog.set_extra_child(Some(&delete_data));
        dialog.add_responses(&[
            ("cancel", &gettext("_Cancel")),
            ("uninstall", &gettext("_Uninstall")),
        ]);
        dialog.set_response_appearance("uninstall", adw::ResponseAppearance::Destructive);
        dialog.set_default_response(Some("cancel"));
        dialog.set_close_response("cancel");
        if dialog.choose_future(Some(self)).await == "uninstall" {
            let delete_data = delete_data.is_active();
            self.run(Operation::AppsUninstall {
                keys: vec![key],
                delete_data,
            })
            .await;
            self.keep_focus();
        }
    }

    /// Asks before removing the runtimes no installed app uses, saying how many and what it frees.
    pub(super) async fn confirm_remove_unused(&self) {
        let system = self.system();
        let dialog = adw::AlertDialog::new(
            Some(&gettext("Remove Unused Runtimes?")),
            Some(&format::remove_unused_body(
                system.unused_runtimes(),
                system.unused_size(),
            )),
        );
        dialog.add_responses(&[
            ("cancel", &gettext("_Cancel")),
            ("remove", &gettext("_Remove")),
        ]);
        dialog.set_response_appearance("remove", adw::ResponseAppearance::Destructive);
        dialog.set_close_response("cancel");
        if dialog.choose_future(Some(self)).await == "remove" {
            self.run(Operation::AppsRemoveUnused).await;
            self.keep_focus();
        }
    }
}
