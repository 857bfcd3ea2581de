//! `KeelDeploymentRow`: one deployment — its version, facts, badges, pin, and a menu of what can
//! be done with it. Made once per deployment; it follows its item's properties from then on.

use std::cell::{OnceCell, RefCell};

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::{gio, glib};

use super::page::Action;
use crate::state::{KeelDeployment, KeelSystem};
use crate::{capabilities, format};

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(file = "deployment_row.ui")]
    pub struct KeelDeploymentRow {
        #[template_child]
        pub booted_badge: TemplateChild<gtk::Label>,
        #[template_child]
        pub next_badge: TemplateChild<gtk::Label>,
        #[template_child]
        pub rollback_badge: TemplateChild<gtk::Label>,
        #[template_child]
        pub pin_icon: TemplateChild<gtk::Image>,
        #[template_child]
        pub menu_button: TemplateChild<gtk::MenuButton>,
        pub menu: gio::Menu,
        /// What the menu lists now: it is rebuilt only when that changes, as each change of
        /// the model rebuilds the popover's widgets.
        pub menu_actions: RefCell<Vec<Action>>,
        pub deployment: OnceCell<KeelDeployment>,
        pub system: OnceCell<KeelSystem>,
        /// What it listens to on the deployment and on the system, let go of when it goes.
        pub handlers: RefCell<Vec<(glib::Object, glib::SignalHandlerId)>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelDeploymentRow {
        const NAME: &'static str = "KeelDeploymentRow";
        type Type = super::KeelDeploymentRow;
        type ParentType = adw::ActionRow;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for KeelDeploymentRow {
        fn constructed(&self) {
            self.parent_constructed();
            self.menu_button.set_menu_model(Some(&self.menu));
            // The menu is filled when it opens, not on every change of the status: rebuilding a
            // popover's widgets was most of a refresh's time at Fedora's scale.
            let row = self.obj().downgrade();
            self.menu_button.set_create_popup_func(move |_| {
                if let Some(row) = row.upgrade()
                    && let Some(d) = row.imp().deployment.get()
                {
                    row.fill_menu(d);
                }
            });
        }

        fn dispose(&self) {
            for (object, handler) in self.handlers.take() {
                object.disconnect(handler);
            }
        }
    }
    impl WidgetImpl for KeelDeploymentRow {}
    impl ListBoxRowImpl for KeelDeploymentRow {}
    impl PreferencesRowImpl for KeelDeploymentRow {}
    impl ActionRowImpl for KeelDeploymentRow {}
}

glib::wrapper! {
    pub struct KeelDeploymentRow(ObjectSubclass<imp::KeelDeploymentRow>)
        @extends adw::ActionRow, adw::PreferencesRow, gtk::ListBoxRow, gtk::Widget,
        @implements gtk::Accessible, gtk::Actionable, gtk::Buildable, gtk::ConstraintTarget;
}

impl KeelDeploymentRow {
    pub fn new(deployment: &KeelDeployment, system: &KeelSystem) -> Self {
        let row: Self = glib::Object::new();
        let imp = row.imp();
        let _ = imp.deployment.set(deployment.clone());
        let _ = imp.system.set(system.clone());
        row.show();
        let follows = deployment.connect_notify_local(
            None,
            glib::clone!(
                #[weak]
                row,
                move |_, _| row.show()
            ),
        );
        // Every title names the OS.
        let names = system.connect_os_name_notify(glib::clone!(
            #[weak]
            row,
            move |_| row.show()
        ));
        imp.handlers.replace(vec![
            (deployment.clone().upcast(), follows),
            (system.clone().upcast(), names),
        ]);
        row
    }

    fn show(&self) {
        let imp = self.imp();
        let (Some(d), Some(system)) = (imp.deployment.get(), imp.system.get()) else {
            return;
        };
        let name = d.name();
        self.set_title(&format::system_name(&system.os_name(), &name));
        self.set_subtitle(&format::deployment_facts(&d.record()));
        imp.booted_badge.set_visible(d.booted());
        imp.next_badge.set_visible(d.index() == 0);
        imp.rollback_badge.set_visible(d.rollback());
        imp.pin_icon.set_visible(d.pinned());
        imp.menu_button
            .update_property(&[gtk::accessible::Property::Label(
                &gettext("Actions for {}").replace("{}", &name),
            )]);
    }

    /// What can be done with the deployment, as its menu offers it: only what the system's
    /// driver can do.
    fn fill_menu(&self, d: &KeelDeployment) {
        let imp = self.imp();
        let menu = &imp.menu;
        let Some(system) = imp.system.get() else {
            return;
        };
        let capabilities = system
            .with_status(|s| s.capabilities.clone())
            .unwrap_or_default();
        let actions = capabilities::deployment_actions(&capabilities, &d.record());
        if *imp.menu_actions.borrow() == actions {
            return;
        }
        menu.remove_all();
        let id = d.id().to_variant();
        for &action in &actions {
            let label = match action {
                Action::Pin => gettext("Pin"),
                Action::Unpin => gettext("Unpin"),
                Action::BootNext => gettext("Boot This Next"),
                Action::Compare => gettext("Compare with Booted"),
                Action::ConfigDiff => gettext("Local Configuration Changes"),
                Action::Remove => gettext("Remove"),
                _ => continue,
            };
            let item = gio::MenuItem::new(Some(&label), None);
            item.set_action_and_target_value(Some(action.name()), Some(&id));
            menu.append_item(&item);
        }
        imp.menu_actions.replace(actions);
    }
}
