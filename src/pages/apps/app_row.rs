//! `KeelAppRow`: one installed app or runtime in the Apps page's list — icon, name, version, size,
//! installation, an update badge, what replaces it at its end of life — with Update and
//! Uninstall. The list view recycles rows: [`KeelAppRow::bind`] shows another item and follows it
//! until the next bind.

use std::cell::RefCell;

use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::{gio, glib};
use keel_api::i18n::{fill, gettext};

use crate::format;
use crate::state::KeelApp;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(file = "app_row.ui")]
    pub struct KeelAppRow {
        #[template_child]
        pub icon: TemplateChild<gtk::Image>,
        #[template_child]
        pub name_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub update_badge: TemplateChild<gtk::Label>,
        #[template_child]
        pub facts_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub warning_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub update_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub uninstall_button: TemplateChild<gtk::Button>,
        /// The item shown, and the handler that follows its changes.
        pub shown: RefCell<Option<(KeelApp, glib::SignalHandlerId)>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelAppRow {
        const NAME: &'static str = "KeelAppRow";
        type Type = super::KeelAppRow;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for KeelAppRow {
        fn constructed(&self) {
            self.parent_constructed();
            // The name says which app; the visible label alone would name it only "Update".
            self.update_button
                .reset_relation(gtk::AccessibleRelation::LabelledBy);
        }
    }
    impl WidgetImpl for KeelAppRow {}
    impl BoxImpl for KeelAppRow {}
}

glib::wrapper! {
    pub struct KeelAppRow(ObjectSubclass<imp::KeelAppRow>)
        @extends gtk::Box, gtk::Widget,
        @implements gtk::Accessible, gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl Default for KeelAppRow {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl KeelAppRow {
    /// Shows `app` from now on, and follows its changes.
    pub fn bind(&self, app: &KeelApp) {
        self.unbind();
        let row = self.downgrade();
        let handler = app.connect_notify_local(None, move |app, _| {
            if let Some(row) = row.upgrade() {
                row.show(app);
            }
        });
        self.show(app);
        self.imp().shown.replace(Some((app.clone(), handler)));
    }

    /// Stops following the item shown (the row is about to show another, or none).
    pub fn unbind(&self) {
        if let Some((app, handler)) = self.imp().shown.take() {
            app.disconnect(handler);
        }
    }

    fn show(&self, app: &KeelApp) {
        let imp = self.imp();
        let name = app.name();
        imp.name_label.set_label(&name);
        imp.name_label.set_tooltip_text(Some(&app.id()));
        self.show_icon(app);
        let broken = app.broken();
        let facts = if broken.is_empty() {
            format::app_facts(&app.version(), app.installed_size(), &app.installation())
        } else {
            broken.clone()
        };
        imp.facts_label.set_label(&facts);
        let warning = if !app.end_of_life().is_empty() || !app.end_of_life_rebase().is_empty() {
            Some(format::end_of_life(
                &app.end_of_life(),
                &app.end_of_life_rebase(),
            ))
        } else if app.unused() {
            Some(gettext("No installed app uses it"))
        } else {
            None
        };
        imp.warning_label
            .set_label(warning.as_deref().unwrap_or_default());
        imp.warning_label.set_visible(warning.is_some());
        if app.unused() && app.end_of_life().is_empty() {
            imp.warning_label.remove_css_class("warning");
            imp.warning_label.add_css_class("dim-label");
        } else {
            imp.warning_label.remove_css_class("dim-label");
            imp.warning_label.add_css_class("warning");
        }
        if broken.is_empty() {
            imp.facts_label.remove_css_class("error");
        } else {
            imp.facts_label.add_css_class("error");
        }

        let key = app.key().to_variant();
        let update = app.has_update();
        imp.update_badge.set_visible(update);
        imp.update_button.set_visible(update);
        imp.update_button.set_action_target_value(Some(&key));
        imp.update_button
            .update_property(&[gtk::accessible::Property::Label(&fill(
                // Translators: the accessible name of the Update button of an app.
                &gettext("Update {name}"),
                &[("name", &name)],
            ))]);
        // A runtime an app still uses cannot go before the app.
        let removable = !app.runtime() || app.unused();
        imp.uninstall_button.set_visible(removable);
        imp.uninstall_button.set_action_target_value(Some(&key));
        imp.uninstall_button
            .update_property(&[gtk::accessible::Property::Label(&fill(
                // Translators: the accessible name of the Uninstall button of an app.
                &gettext("Uninstall {name}"),
                &[("name", &name)],
            ))]);
    }

    /// The app's own icon when it has one; a generic one otherwise. The file is read when the
    /// row is drawn, by GTK's icon loader, not here.
    fn show_icon(&self, app: &KeelApp) {
        let icon = self.imp().icon.get();
        let path = app.icon();
        // A generic symbolic icon is drawn smaller and dimmed, in the same 48 px square.
        let generic = path.is_empty();
        if generic {
            icon.set_icon_name(Some(if app.runtime() {
                "application-x-addon-symbolic"
            } else {
                "application-x-executable-symbolic"
            }));
            icon.set_pixel_size(32);
            icon.add_css_class("dim-label");
        } else {
            icon.set_from_gicon(&gio::FileIcon::new(&gio::File::for_path(&path)));
            icon.set_pixel_size(48);
            icon.remove_css_class("dim-label");
        }
    }
}
