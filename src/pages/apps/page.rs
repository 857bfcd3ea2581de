//! `KeelAppsPage`: the installed Flatpaks — apps, then the runtimes in a section of their own that
//! starts closed — in a list view over a filter model (a search narrows it; typing anywhere on the
//! page searches), with the page's actions: check, Update All, update or uninstall one app, remove
//! unused runtimes. Its dialogs are in `dialogs.rs`.

use std::cell::{Cell, OnceCell, RefCell};

use adw::prelude::*;
use adw::subclass::prelude::*;
use gtk::{gio, glib};

use super::app_row::KeelAppRow;
use super::runtimes_row::KeelRuntimesRow;
use crate::client::Operation;
use crate::format;
use crate::pages::progress_box::KeelProgressBox;
use crate::state::{KeelApp, KeelSystem};

/// The page's actions. Their names are spelled here only (and in the page's templates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Check,
    UpdateAll,
    RemoveUnused,
    /// The ones below take an app's key (`INSTALLATION:REF`).
    Update,
    Uninstall,
}

impl Action {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Check => "apps.check",
            Self::UpdateAll => "apps.update-all",
            Self::RemoveUnused => "apps.remove-unused",
            Self::Update => "apps.update",
            Self::Uninstall => "apps.uninstall",
        }
    }

    const ALL: [Self; 5] = [
        Self::Check,
        Self::UpdateAll,
        Self::RemoveUnused,
        Self::Update,
        Self::Uninstall,
    ];
}

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate, glib::Properties)]
    #[template(file = "page.ui")]
    #[properties(wrapper_type = super::KeelAppsPage)]
    pub struct KeelAppsPage {
        #[template_child]
        pub stack: TemplateChild<gtk::Stack>,
        #[template_child]
        pub results_stack: TemplateChild<gtk::Stack>,
        #[template_child]
        pub updates_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub update_all_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub progress_box: TemplateChild<KeelProgressBox>,
        #[template_child]
        pub search_entry: TemplateChild<gtk::SearchEntry>,
        #[template_child]
        pub list_view: TemplateChild<gtk::ListView>,
        #[property(get, set = Self::set_system)]
        pub system: OnceCell<KeelSystem>,
        /// The runtimes' section is open.
        #[property(get, set = Self::set_runtimes_expanded, explicit_notify)]
        pub runtimes_expanded: Cell<bool>,
        /// How many runtimes are installed.
        #[property(get)]
        pub runtime_count: Cell<u32>,
        /// What the search entry holds, lowercased.
        pub needle: RefCell<String>,
        pub search_filter: OnceCell<gtk::CustomFilter>,
        pub expanded_filter: OnceCell<gtk::CustomFilter>,
        /// All that is listed (the search applied), to tell "no results" apart.
        pub listed: OnceCell<gtk::FlattenListModel>,
        /// Every runtime, and those the search finds: the heading's count and presence follow
        /// them.
        pub runtime_models: OnceCell<(gtk::FilterListModel, gtk::FilterListModel)>,
        pub runtimes_row: OnceCell<KeelRuntimesRow>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelAppsPage {
        const NAME: &'static str = "KeelAppsPage";
        type Type = super::KeelAppsPage;
        type ParentType = adw::BreakpointBin;

        fn class_init(klass: &mut Self::Class) {
            KeelProgressBox::ensure_type();
            klass.bind_template();
            klass.install_action_async(Action::Check.name(), None, |page, _, _| async move {
                page.run(Operation::AppsCheck).await;
            });
            klass.install_action_async(Action::UpdateAll.name(), None, |page, _, _| async move {
                page.run(Operation::AppsUpdate(Vec::new())).await;
            });
            klass.install_action_async(
                Action::RemoveUnused.name(),
                None,
                |page, _, _| async move {
                    page.confirm_remove_unused().await;
                },
            );
            let key = Some(glib::VariantTy::STRING);
            klass.install_action_async(Action::Update.name(), key, |page, _, key| async move {
                page.run(Operation::AppsUpdate(vec![key_of(key)])).await;
            });
            klass.install_action_async(Action::Uninstall.name(), key, |page, _, key| async move {
                page.confirm_uninstall(key_of(key)).await;
            });
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    #[glib::derived_properties]
    impl ObjectImpl for KeelAppsPage {
        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            // Typing anywhere on the page searches.
            self.search_entry.set_key_capture_widget(Some(&*obj));
            self.search_entry.connect_search_changed(glib::clone!(
                #[weak]
                obj,
                move |entry| obj.search(&entry.text())
            ));
            // Escape ends the search: every app again.
            self.search_entry
                .connect_stop_search(|entry| entry.set_text(""));
        }
    }

    impl WidgetImpl for KeelAppsPage {}
    impl BreakpointBinImpl for KeelAppsPage {}

    impl KeelAppsPage {
        fn set_system(&self, system: KeelSystem) {
            let _ = self.system.set(system.clone());
            self.obj().bind(&system);
        }

        fn set_runtimes_expanded(&self, expanded: bool) {
            if self.runtimes_expanded.replace(expanded) != expanded {
                if let Some(filter) = self.expanded_filter.get() {
                    filter.changed(gtk::FilterChange::Different);
                }
                self.obj().notify_runtimes_expanded();
            }
        }
    }
}

fn key_of(parameter: Option<glib::Variant>) -> String {
    parameter
        .and_then(|v| v.get::<String>())
        .unwrap_or_default()
}

glib::wrapper! {
    pub struct KeelAppsPage(ObjectSubclass<imp::KeelAppsPage>)
        @extends adw::BreakpointBin, gtk::Widget,
        @implements gtk::Accessible, gtk::Buildable, gtk::ConstraintTarget;
}

/// Items that are apps (`runtime` false), or runtimes.
fn kind_filter(runtimes: bool) -> gtk::BoolFilter {
    let filter = gtk::BoolFilter::new(Some(gtk::PropertyExpression::new(
        KeelApp::static_type(),
        None::<gtk::Expression>,
        "runtime",
    )));
    filter.set_invert(!runtimes);
    filter
}

fn every(filters: &[&gtk::Filter]) -> gtk::EveryFilter {
    let every = gtk::EveryFilter::new();
    for filter in filters {
        every.append((*filter).clone());
    }
    every
}

impl KeelAppsPage {
    fn bind(&self, system: &KeelSystem) {
        let imp = self.imp();
        imp.progress_box.set_system(system);
        let runtimes_row = KeelRuntimesRow::new(self);
        let _ = imp.runtimes_row.set(runtimes_row);

        let page = self.downgrade();
        let search = gtk::CustomFilter::new(move |item| {
            let (Some(page), Some(app)) = (page.upgrade(), item.downcast_ref::<KeelApp>()) else {
                return true;
            };
            app.matches(&page.imp().needle.borrow())
        });
        let page = self.downgrade();
        let expanded =
            gtk::CustomFilter::new(move |_| page.upgrade().is_some_and(|p| p.runtimes_expanded()));
        let store = system.apps();
        let apps = gtk::FilterListModel::new(
            Some(store.clone()),
            Some(every(&[
                kind_filter(false).upcast_ref(),
                search.upcast_ref(),
            ])),
        );
        let runtimes = gtk::FilterListModel::new(
            Some(store.clone()),
            Some(every(&[
                kind_filter(true).upcast_ref(),
                expanded.upcast_ref(),
                search.upcast_ref(),
            ])),
        );
        let all_runtimes = gtk::FilterListModel::new(Some(store.clone()), Some(kind_filter(true)));
        let found_runtimes = gtk::FilterListModel::new(
            Some(store.clone()),
            Some(every(&[
                kind_filter(true).upcast_ref(),
                search.upcast_ref(),
            ])),
        );
        // The runtimes' heading: one item, there while a runtime is installed that the search
        // (if any) finds.
        let heading = gio::ListStore::new::<glib::Object>();
        let sections = gio::ListStore::new::<gio::ListModel>();
        sections.append(&apps);
        sections.append(&heading);
        sections.append(&runtimes);
        let listed = gtk::FlattenListModel::new(Some(sections));
        let _ = imp.search_filter.set(search);
        let _ = imp.expanded_filter.set(expanded);
        let _ = imp.listed.set(listed.clone());

        let page = self.downgrade();
        let count_runtimes = move |model: &gtk::FilterListModel| {
            let Some(page) = page.upgrade() else { return };
            let count = model.n_items();
            if page.imp().runtime_count.replace(count) != count {
                page.notify_runtime_count();
            }
        };
        count_runtimes(&all_runtimes);
        all_runtimes.connect_items_changed(move |model, _, _, _| count_runtimes(model));
        let show_heading = move |found: &gtk::FilterListModel| match (
            found.n_items() > 0,
            heading.n_items() > 0,
        ) {
            (true, false) => heading.append(&glib::Object::new::<glib::Object>()),
            (false, true) => heading.remove_all(),
            _ => {}
        };
        show_heading(&found_runtimes);
        found_runtimes.connect_items_changed(move |model, _, _, _| show_heading(model));
        let _ = imp.runtime_models.set((all_runtimes, found_runtimes));

        imp.list_view.set_factory(Some(&self.row_factory()));
        imp.list_view
            .set_model(Some(&gtk::NoSelection::new(Some(listed.clone()))));

        let page = self.downgrade();
        let show_state = move || {
            if let Some(page) = page.upgrade() {
                page.show_state();
            }
        };
        show_state();
        let again = show_state.clone();
        store.connect_items_changed(move |_, _, _, _| again());
        let again = show_state.clone();
        listed.connect_items_changed(move |_, _, _, _| again());
        let again = show_state.clone();
        system.connect_apps_loaded_notify(move |_| again());
        system.connect_app_updates_notify(move |_| show_state());

        let page = self.downgrade();
        let update_actions = move |_: &KeelSystem| {
            if let Some(page) = page.upgrade() {
                page.update_actions();
            }
        };
        update_actions(system);
        system.connect_busy_notify(update_actions.clone());
        system.connect_unused_runtimes_notify(update_actions.clone());
        system.connect_app_updates_notify(update_actions);
    }

    /// Rows for the list view: an app's or a runtime's row, or the runtimes' heading. Rows are
    /// recycled: a bind shows another item in a row made before.
    fn row_factory(&self) -> gtk::SignalListItemFactory {
        let factory = gtk::SignalListItemFactory::new();
        factory.connect_setup(|_, item| {
            let item = item.downcast_ref::<gtk::ListItem>().expect("list item");
            item.set_activatable(false);
            // A row from the start: the list view sizes how many rows fill the view by the rows
            // it has, and empty ones would be so short that it made one for every app.
            item.set_child(Some(&KeelAppRow::default()));
        });
        let page = self.downgrade();
        factory.connect_bind(move |_, item| {
            let item = item.downcast_ref::<gtk::ListItem>().expect("list item");
            if let Some(app) = item.item().and_downcast::<KeelApp>() {
                let row = match item.child().and_downcast::<KeelAppRow>() {
                    Some(row) => row,
                    None => {
                        let row = KeelAppRow::default();
                        item.set_child(Some(&row));
                        row
                    }
                };
                row.bind(&app);
                item.set_accessible_label(&app.name());
            } else if let Some(page) = page.upgrade()
                && let Some(heading) = page.imp().runtimes_row.get()
            {
                item.set_child(Some(heading));
                item.set_accessible_label(&keel_api::i18n::gettext("Runtimes"));
            }
        });
        factory.connect_unbind(|_, item| {
            let item = item.downcast_ref::<gtk::ListItem>().expect("list item");
            match item.child().and_downcast::<KeelAppRow>() {
                Some(row) => row.unbind(),
                // The heading is the page's one widget: the next item to show it takes it.
                None => item.set_child(None::<&gtk::Widget>),
            }
        });
        factory
    }

    fn search(&self, text: &str) {
        let needle = text.trim().to_lowercase();
        let imp = self.imp();
        if *imp.needle.borrow() == needle {
            return;
        }
        imp.needle.replace(needle);
        if let Some(filter) = imp.search_filter.get() {
            filter.changed(gtk::FilterChange::Different);
        }
    }

    /// Which view the page shows (reading the list, nothing installed, the list, no results)
    /// and what its header says.
    fn show_state(&self) {
        let imp = self.imp();
        let system = self.system();
        let installed = system.apps().n_items();
        let view = match (system.apps_loaded(), installed) {
            (false, _) => "loading",
            (true, 0) => "empty",
            _ => "list",
        };
        imp.stack.set_visible_child_name(view);
        let found = imp.listed.get().map_or(0, |m| m.n_items());
        imp.results_stack
            .set_visible_child_name(if found == 0 { "no-results" } else { "results" });
        let updates = system.app_updates();
        imp.updates_label
            .set_label(&format::apps_updates_title(updates));
        imp.update_all_button.set_visible(updates > 0);
    }

    /// Mutations are off while a transaction runs, and those with nothing to act on are off too.
    fn update_actions(&self) {
        let system = self.system();
        let idle = !system.busy();
        for action in Action::ALL {
            let possible = match action {
                Action::UpdateAll => system.app_updates() > 0,
                Action::RemoveUnused => system.unused_runtimes() > 0,
                _ => true,
            };
            self.action_set_enabled(action.name(), idle && possible);
        }
    }

    pub(super) async fn run(&self, op: Operation) {
        self.system().run(op, self.upcast_ref()).await;
    }

    /// A row that had the focus may be gone (its app uninstalled): the focus goes back to the
    /// list, or to the search when nothing is listed, rather than nowhere.
    pub(super) fn keep_focus(&self) {
        let lost = self
            .root()
            .and_then(|root| root.focus())
            .is_none_or(|widget| !widget.is_mapped());
        if !lost {
            return;
        }
        // An unmapped list view (nothing found) still takes the focus, where nobody sees it.
        let imp = self.imp();
        if !(imp.list_view.is_mapped() && imp.list_view.grab_focus()) {
            imp.search_entry.grab_focus();
        }
    }

    /// The listed item with this key.
    pub(super) fn app(&self, key: &str) -> Option<KeelApp> {
        let store = self.system().apps();
        (0..store.n_items())
            .filter_map(|i| store.item(i).and_downcast::<KeelApp>())
            .find(|app| app.key() == key)
    }
}
