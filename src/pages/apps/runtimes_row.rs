//! `KeelRuntimesRow`: the heading of the runtimes' section in the Apps page's list, which opens
//! and closes it (runtimes are what apps run on: most people need not see them), says how many
//! there are and what the unused ones take, and offers to remove those.

use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;

use super::page::KeelAppsPage;
use crate::format;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(file = "runtimes_row.ui")]
    pub struct KeelRuntimesRow {
        #[template_child]
        pub toggle: TemplateChild<gtk::ToggleButton>,
        #[template_child]
        pub summary_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub arrow: TemplateChild<gtk::Image>,
        #[template_child]
        pub remove_unused_button: TemplateChild<gtk::Button>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelRuntimesRow {
        const NAME: &'static str = "KeelRuntimesRow";
        type Type = super::KeelRuntimesRow;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for KeelRuntimesRow {}
    impl WidgetImpl for KeelRuntimesRow {}
    impl BoxImpl for KeelRuntimesRow {}
}

glib::wrapper! {
    pub struct KeelRuntimesRow(ObjectSubclass<imp::KeelRuntimesRow>)
        @extends gtk::Box, gtk::Widget,
        @implements gtk::Accessible, gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl KeelRuntimesRow {
    /// A heading that opens and closes `page`'s runtimes and follows its counts (one per page:
    /// the list view shows it wherever the section starts).
    pub fn new(page: &KeelAppsPage) -> Self {
        let row: Self = glib::Object::new();
        let imp = row.imp();
        page.bind_property("runtimes-expanded", &*imp.toggle, "active")
            .bidirectional()
            .sync_create()
            .build();
        imp.toggle
            .bind_property("active", &*imp.arrow, "icon-name")
            .transform_to(|_, open: bool| {
                Some(if open {
                    "pan-down-symbolic"
                } else {
                    "pan-end-symbolic"
                })
            })
            .sync_create()
            .build();
        let system = page.system();
        let shown = row.downgrade();
        let page_ref = page.downgrade();
        let show = move || {
            if let (Some(row), Some(page)) = (shown.upgrade(), page_ref.upgrade()) {
                let system = page.system();
                let imp = row.imp();
                imp.summary_label.set_label(&format::runtimes_summary(
                    page.runtime_count(),
                    system.unused_runtimes(),
                    system.unused_size(),
                ));
                imp.remove_unused_button
                    .set_visible(system.unused_runtimes() > 0);
            }
        };
        show();
        let again = show.clone();
        system.connect_unused_size_notify(move |_| again());
        let again = show.clone();
        system.connect_unused_runtimes_notify(move |_| again());
        page.connect_runtime_count_notify(move |_| show());
        row
    }
}
