//! `KeelAddPackagesDialog`: what the package source offers, searched by name and summary. A list
//! view over a filter model: a real package source has tens of thousands of packages, and only the
//! rows on screen exist.

use std::cell::RefCell;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::{gio, glib};
use keel_api::model::AvailablePackage;

use super::available_package::KeelAvailablePackage;
use super::available_row::KeelAvailableRow;

/// Adds the package whose name it takes (the Add button of each row).
const ADD: &str = "add-packages.add";

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(file = "add_dialog.ui")]
    pub struct KeelAddPackagesDialog {
        #[template_child]
        pub search: TemplateChild<gtk::SearchEntry>,
        #[template_child]
        pub stack: TemplateChild<gtk::Stack>,
        #[template_child]
        pub list_view: TemplateChild<gtk::ListView>,
        #[template_child]
        pub empty_label: TemplateChild<gtk::Label>,
        pub filter: RefCell<Option<gtk::StringFilter>>,
        pub filtered: RefCell<Option<gtk::FilterListModel>>,
        /// The package chosen, read when the dialog has closed.
        pub chosen: RefCell<Option<String>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelAddPackagesDialog {
        const NAME: &'static str = "KeelAddPackagesDialog";
        type Type = super::KeelAddPackagesDialog;
        type ParentType = adw::Dialog;

        fn class_init(klass: &mut Self::Class) {
            KeelAvailableRow::ensure_type();
            klass.bind_template();
            klass.bind_template_instance_callbacks();
            klass.install_action(ADD, Some(glib::VariantTy::STRING), |dialog, _, name| {
                let name = name.and_then(|v| v.get::<String>());
                dialog.imp().chosen.replace(name);
                dialog.close();
            });
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for KeelAddPackagesDialog {}
    impl WidgetImpl for KeelAddPackagesDialog {}
    impl AdwDialogImpl for KeelAddPackagesDialog {}
}

glib::wrapper! {
    pub struct KeelAddPackagesDialog(ObjectSubclass<imp::KeelAddPackagesDialog>)
        @extends adw::Dialog, gtk::Widget,
        @implements gtk::Accessible, gtk::Buildable, gtk::ConstraintTarget, gtk::ShortcutManager;
}

#[gtk::template_callbacks]
impl KeelAddPackagesDialog {
    pub fn new(available: &[AvailablePackage]) -> Self {
        let dialog: Self = glib::Object::new();
        let store = gio::ListStore::new::<KeelAvailablePackage>();
        let items: Vec<KeelAvailablePackage> =
            available.iter().map(KeelAvailablePackage::new).collect();
        store.extend_from_slice(&items);
        let expression = gtk::ClosureExpression::new::<String>(
            gtk::Expression::NONE,
            glib::closure!(|package: KeelAvailablePackage| package.search_text()),
        );
        let filter = gtk::StringFilter::builder()
            .expression(&expression)
            .ignore_case(true)
            .match_mode(gtk::StringFilterMatchMode::Substring)
            .build();
        let filtered = gtk::FilterListModel::new(Some(store), Some(filter.clone()));
        let factory = gtk::SignalListItemFactory::new();
        factory.connect_setup(|_, item| {
            let item = item.downcast_ref::<gtk::ListItem>().expect("a list item");
            // The row's button takes the focus, not the row: there is nothing to select.
            item.set_activatable(false);
            item.set_focusable(false);
            item.set_child(Some(&KeelAvailableRow::default()));
        });
        factory.connect_bind(|_, item| {
            let item = item.downcast_ref::<gtk::ListItem>().expect("a list item");
            let (Some(row), Some(package)) = (
                item.child().and_downcast::<KeelAvailableRow>(),
                item.item().and_downcast::<KeelAvailablePackage>(),
            ) else {
                return;
            };
            item.set_accessible_label(&package.name());
            row.bind(&package);
        });
        let imp = dialog.imp();
        imp.list_view
            .set_model(Some(&gtk::NoSelection::new(Some(filtered.clone()))));
        imp.list_view.set_factory(Some(&factory));
        filtered.connect_items_changed(glib::clone!(
            #[weak]
            dialog,
            move |_, _, _, _| dialog.show_matches()
        ));
        imp.filter.replace(Some(filter));
        imp.filtered.replace(Some(filtered));
        dialog.show_matches();
        dialog
    }

    /// Presents the dialog over `parent` and waits for it to close; the package chosen, if any.
    pub async fn choose(&self, parent: &gtk::Widget) -> Option<String> {
        let (tx, rx) = async_channel::bounded(1);
        self.connect_closed(move |_| {
            let _ = tx.try_send(());
        });
        self.present(Some(parent));
        let _ = rx.recv().await;
        self.imp().chosen.take()
    }

    /// The list, or a sentence when nothing matches.
    fn show_matches(&self) {
        let imp = self.imp();
        let count = imp.filtered.borrow().as_ref().map_or(0, |f| f.n_items());
        if count > 0 {
            imp.stack.set_visible_child_name("list");
            return;
        }
        let text = imp.search.text();
        imp.empty_label.set_label(&if text.is_empty() {
            gettext("The package source offers no packages.")
        } else {
            // Translators: {} is what was searched for.
            gettext("No package matches “{}”.").replace("{}", &text)
        });
        imp.stack.set_visible_child_name("empty");
    }

    #[template_callback]
    fn on_search_changed(&self, entry: &gtk::SearchEntry) {
        if let Some(filter) = self.imp().filter.borrow().as_ref() {
            filter.set_search(Some(&entry.text()));
        }
    }

    /// Escape clears the search first, then closes the dialog.
    #[template_callback]
    fn on_stop_search(&self, entry: &gtk::SearchEntry) {
        if entry.text().is_empty() {
            self.close();
        } else {
            entry.set_text("");
        }
    }
}
