//! `KeelHistoryChangesRow`: a past operation that changed packages; it unfolds to list them.

use adw::prelude::*;
use adw::subclass::prelude::*;
use gtk::glib;
use keel_api::model::HistoryEntry;
use keel_api::packages::PackageDiff;

use crate::format;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(file = "changes_row.ui")]
    pub struct KeelHistoryChangesRow {}

    #[glib::object_subclass]
    impl ObjectSubclass for KeelHistoryChangesRow {
        const NAME: &'static str = "KeelHistoryChangesRow";
        type Type = super::KeelHistoryChangesRow;
        type ParentType = adw::ExpanderRow;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for KeelHistoryChangesRow {}
    impl WidgetImpl for KeelHistoryChangesRow {}
    impl ListBoxRowImpl for KeelHistoryChangesRow {}
    impl PreferencesRowImpl for KeelHistoryChangesRow {}
    impl ExpanderRowImpl for KeelHistoryChangesRow {}
}

glib::wrapper! {
    pub struct KeelHistoryChangesRow(ObjectSubclass<imp::KeelHistoryChangesRow>)
        @extends adw::ExpanderRow, adw::PreferencesRow, gtk::ListBoxRow, gtk::Widget,
        @implements gtk::Accessible, gtk::Actionable, gtk::Buildable, gtk::ConstraintTarget;
}

impl KeelHistoryChangesRow {
    pub fn new(entry: &HistoryEntry, diff: &PackageDiff) -> Self {
        let row: Self = glib::Object::new();
        row.set_title(&glib::markup_escape_text(&format::history_title(entry)));
        row.set_subtitle(&glib::markup_escape_text(&format::history_subtitle(entry)));
        for change in crate::pages::change_rows(diff) {
            row.add_row(&change);
        }
        row
    }
}
