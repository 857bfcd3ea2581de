//! `KeelUpdateRow`: what the Updates group says first — an update on the server, one waiting for
//! a restart, or that the system is up to date, with the app updates waiting too — and what runs
//! while a check or an update does. It offers Update (the OS) or, when apps have updates too,
//! Update All.

use std::cell::OnceCell;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::glib;
use keel_api::Operation;

use crate::format;
use crate::state::KeelSystem;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(file = "update_row.ui")]
    pub struct KeelUpdateRow {
        #[template_child]
        pub check_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub update_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub update_all_button: TemplateChild<gtk::Button>,
        pub system: OnceCell<KeelSystem>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelUpdateRow {
        const NAME: &'static str = "KeelUpdateRow";
        type Type = super::KeelUpdateRow;
        type ParentType = adw::ActionRow;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for KeelUpdateRow {}
    impl WidgetImpl for KeelUpdateRow {}
    impl ListBoxRowImpl for KeelUpdateRow {}
    impl PreferencesRowImpl for KeelUpdateRow {}
    impl ActionRowImpl for KeelUpdateRow {}
}

glib::wrapper! {
    pub struct KeelUpdateRow(ObjectSubclass<imp::KeelUpdateRow>)
        @extends adw::ActionRow, adw::PreferencesRow, gtk::ListBoxRow, gtk::Widget,
        @implements gtk::Accessible, gtk::Actionable, gtk::Buildable, gtk::ConstraintTarget;
}

impl KeelUpdateRow {
    /// Follows `system` from now on.
    pub fn set_system(&self, system: &KeelSystem) {
        if self.imp().system.set(system.clone()).is_err() {
            return;
        }
        let row = self.downgrade();
        let show = move |_: &KeelSystem| {
            if let Some(row) = row.upgrade() {
                row.show();
            }
        };
        system.connect_status_changed(show.clone());
        system.connect_running_operation_notify(show.clone());
        system.connect_unavailable_notify(show.clone());
        system.connect_app_updates_notify(show.clone());
        show(system);
    }

    fn show(&self) {
        let Some(system) = self.imp().system.get() else {
            return;
        };
        // While a check or an update runs, the row says so (its usual text may no longer hold).
        let running = match system.running() {
            Some(Operation::Check) => Some(gettext("Checking for updates…")),
            Some(Operation::Download) => Some(gettext("Downloading the update…")),
            Some(Operation::Update) => Some(gettext("Updating…")),
            Some(Operation::UpdateAll) => Some(gettext("Updating the system and the apps…")),
            Some(Operation::AppsCheck) => Some(gettext("Checking for app updates…")),
            _ => None,
        };
        if let Some(title) = running {
            self.set_title(&title);
            return;
        }
        match system.with_status(|s| (format::update_summary(s), s.cached_update.is_some())) {
            Some((summary, available)) => {
                let apps = system.app_updates();
                self.set_title(&summary.title);
                let subtitle = match format::app_updates_line(apps) {
                    Some(line) => format!("{} · {line}", summary.subtitle),
                    None => summary.subtitle,
                };
                self.set_subtitle(&subtitle);
                // One suggested action: Update All brings the OS along when apps wait too.
                let imp = self.imp();
                imp.update_button.set_visible(available && apps == 0);
                imp.update_all_button.set_visible(apps > 0);
                // Beside Update All the check is an icon, so the row fits a phone's width.
                if apps > 0 {
                    imp.check_button.set_icon_name("view-refresh-symbolic");
                } else if imp.check_button.label().is_none() {
                    imp.check_button.set_label(&gettext("_Check for Updates"));
                }
            }
            None if system.unavailable() => {
                self.set_title(&gettext("Keel’s backend is not available"));
            }
            None => self.set_title(&gettext("Connecting to the backend…")),
        }
    }
}
