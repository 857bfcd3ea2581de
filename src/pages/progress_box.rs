//! `KeelProgressBox`: the one progress display of the running transaction — what it does, how far
//! it is, and Cancel — shown by the System and Apps pages alike. It shows itself only while a
//! transaction runs.

use std::cell::OnceCell;

use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;

use crate::state::KeelSystem;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate, glib::Properties)]
    #[template(file = "progress_box.ui")]
    #[properties(wrapper_type = super::KeelProgressBox)]
    pub struct KeelProgressBox {
        #[template_child]
        pub label: TemplateChild<gtk::Label>,
        #[template_child]
        pub bar: TemplateChild<gtk::ProgressBar>,
        #[property(get, set = Self::set_system)]
        pub system: OnceCell<KeelSystem>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelProgressBox {
        const NAME: &'static str = "KeelProgressBox";
        type Type = super::KeelProgressBox;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            klass.bind_template_instance_callbacks();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    #[glib::derived_properties]
    impl ObjectImpl for KeelProgressBox {
        fn constructed(&self) {
            self.parent_constructed();
            self.obj().set_visible(false);
        }
    }

    impl WidgetImpl for KeelProgressBox {}
    impl BoxImpl for KeelProgressBox {}

    impl KeelProgressBox {
        fn set_system(&self, system: KeelSystem) {
            let _ = self.system.set(system.clone());
            let obj = self.obj();
            system
                .bind_property("busy", &*obj, "visible")
                .sync_create()
                .build();
            system
                .bind_property("progress-fraction", &*self.bar, "fraction")
                .sync_create()
                .build();
            system
                .bind_property("progress-text", &*self.label, "label")
                .sync_create()
                .build();
        }
    }
}

glib::wrapper! {
    pub struct KeelProgressBox(ObjectSubclass<imp::KeelProgressBox>)
        @extends gtk::Box, gtk::Widget,
        @implements gtk::Accessible, gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

#[gtk::template_callbacks]
impl KeelProgressBox {
    /// Cancels the running transaction (or stops waiting for another program's).
    #[template_callback]
    fn cancel(&self) {
        let Some(system) = self.imp().system.get().cloned() else {
            return;
        };
        glib::spawn_future_local(async move { system.cancel().await });
    }
}
