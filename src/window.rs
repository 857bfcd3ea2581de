//! The main window: header bar with the primary menu, and the pages.

use adw::subclass::prelude::*;
use gtk::{gio, glib, prelude::*};

use crate::application::KeelApplication;
use crate::config;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/keelapp/Keel/window.ui")]
    pub struct KeelWindow {}

    #[glib::object_subclass]
    impl ObjectSubclass for KeelWindow {
        const NAME: &'static str = "KeelWindow";
        type Type = super::KeelWindow;
        type ParentType = adw::ApplicationWindow;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for KeelWindow {
        fn constructed(&self) {
            self.parent_constructed();
            if config::DEVEL {
                self.obj().add_css_class("devel");
            }
        }
    }

    impl WidgetImpl for KeelWindow {}
    impl WindowImpl for KeelWindow {}
    impl ApplicationWindowImpl for KeelWindow {}
    impl AdwApplicationWindowImpl for KeelWindow {}
}

glib::wrapper! {
    pub struct KeelWindow(ObjectSubclass<imp::KeelWindow>)
        @extends adw::ApplicationWindow, gtk::ApplicationWindow, gtk::Window, gtk::Widget,
        @implements gio::ActionGroup, gio::ActionMap, gtk::Accessible, gtk::Buildable,
                    gtk::ConstraintTarget, gtk::Native, gtk::Root, gtk::ShortcutManager;
}

impl KeelWindow {
    pub fn new(app: &KeelApplication) -> Self {
        glib::Object::builder().property("application", app).build()
    }
}
