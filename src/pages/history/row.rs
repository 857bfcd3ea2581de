//! `KeelHistoryRow`: one past operation — what, when, how it ended; a failure carries a warning.

use adw::prelude::*;
use adw::subclass::prelude::*;
use gtk::glib;
use keel_api::model::HistoryEntry;

use crate::format;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(file = "row.ui")]
    pub struct KeelHistoryRow {}

    #[glib::object_subclass]
    impl ObjectSubclass for KeelHistoryRow {
        const NAME: &'static str = "KeelHistoryRow";
        type Type = super::KeelHistoryRow;
        type ParentType = adw::ActionRow;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for KeelHistoryRow {}
    impl WidgetImpl for KeelHistoryRow {}
    impl ListBoxRowImpl for KeelHistoryRow {}
    impl PreferencesRowImpl for KeelHistoryRow {}
    impl ActionRowImpl for KeelHistoryRow {}
}

glib::wrapper! {
    pub struct KeelHistoryRow(ObjectSubclass<imp::KeelHistoryRow>)
        @extends adw::ActionRow, adw::PreferencesRow, gtk::ListBoxRow, gtk::Widget,
        @implements gtk::Accessible, gtk::Actionable, gtk::Buildable, gtk::ConstraintTarget;
}

impl KeelHistoryRow {
    pub fn new(entry: &HistoryEntry) -> Self {
        let row: Self = glib::Object::new();
        row.set_title(&glib::markup_escape_text(&format::history_title(entry)));
        row.set_subtitle(&glib::markup_escape_text(&format::history_subtitle(entry)));
        // Added only when needed: an empty prefix box would still indent the title.
        if !entry.success {
            row.add_prefix(&gtk::Image::from_icon_name("dialog-warning-symbolic"));
        }
        row
    }
}
