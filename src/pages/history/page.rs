//! `KeelHistoryPage`: the history journal as a list; an entry that changed packages unfolds to
//! show which.

use std::cell::OnceCell;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gtk::glib;
use keel_api::model::HistoryEntry;

use super::changes_row::KeelHistoryChangesRow;
use super::row::KeelHistoryRow;
use crate::state::KeelSystem;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate, glib::Properties)]
    #[template(file = "page.ui")]
    #[properties(wrapper_type = super::KeelHistoryPage)]
    pub struct KeelHistoryPage {
        #[template_child]
        pub history_list: TemplateChild<gtk::ListBox>,
        #[property(get, set = Self::set_system)]
        pub system: OnceCell<KeelSystem>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelHistoryPage {
        const NAME: &'static str = "KeelHistoryPage";
        type Type = super::KeelHistoryPage;
        type ParentType = adw::PreferencesPage;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    #[glib::derived_properties]
    impl ObjectImpl for KeelHistoryPage {}
    impl WidgetImpl for KeelHistoryPage {}
    impl PreferencesPageImpl for KeelHistoryPage {}

    impl KeelHistoryPage {
        fn set_system(&self, system: KeelSystem) {
            let _ = self.system.set(system.clone());
            self.history_list
                .bind_model(Some(&system.history()), |item| {
                    let boxed = item
                        .downcast_ref::<glib::BoxedAnyObject>()
                        .expect("history entries");
                    let entry = boxed.borrow::<HistoryEntry>();
                    match &entry.diff {
                        Some(diff) if !diff.is_empty() => {
                            KeelHistoryChangesRow::new(&entry, diff).upcast()
                        }
                        _ => KeelHistoryRow::new(&entry).upcast(),
                    }
                });
        }
    }
}

glib::wrapper! {
    pub struct KeelHistoryPage(ObjectSubclass<imp::KeelHistoryPage>)
        @extends adw::PreferencesPage, gtk::Widget,
        @implements gtk::Accessible, gtk::Buildable, gtk::ConstraintTarget;
}
