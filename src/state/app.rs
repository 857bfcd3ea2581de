//! `KeelApp`: one installed Flatpak (an app or a runtime) as the Apps page lists it. It keeps its
//! identity (the backend's key, `INSTALLATION:REF`) across refreshes and takes fresh records in
//! place, so its row follows it.

use std::cell::{Cell, RefCell};

use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use keel_api::apps::{App, AppKind};

mod imp {
    use super::*;

    #[derive(Default, glib::Properties)]
    #[properties(wrapper_type = super::KeelApp)]
    pub struct KeelApp {
        /// `INSTALLATION:REF`, what the backend's mutations take.
        #[property(get, construct_only)]
        key: RefCell<String>,
        #[property(get, set)]
        runtime: Cell<bool>,
        #[property(get, set)]
        id: RefCell<String>,
        /// The name people know it by (the id when it has none).
        #[property(get, set)]
        name: RefCell<String>,
        #[property(get, set)]
        summary: RefCell<String>,
        #[property(get, set)]
        version: RefCell<String>,
        #[property(get, set)]
        branch: RefCell<String>,
        #[property(get, set)]
        installation: RefCell<String>,
        #[property(get, set)]
        installed_size: Cell<u64>,
        /// The icon's absolute path; empty when it has none.
        #[property(get, set)]
        icon: RefCell<String>,
        /// A newer commit waits on its remote.
        #[property(get, set)]
        has_update: Cell<bool>,
        #[property(get, set)]
        end_of_life: RefCell<String>,
        #[property(get, set)]
        end_of_life_rebase: RefCell<String>,
        /// A runtime no installed app uses.
        #[property(get, set)]
        unused: Cell<bool>,
        /// Why its files could not be read; empty when fine.
        #[property(get, set)]
        broken: RefCell<String>,
        /// The record it was made from, to tell whether a fresh one changes it.
        pub record: RefCell<App>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelApp {
        const NAME: &'static str = "KeelApp";
        type Type = super::KeelApp;
    }

    #[glib::derived_properties]
    impl ObjectImpl for KeelApp {}
}

glib::wrapper! {
    pub struct KeelApp(ObjectSubclass<imp::KeelApp>);
}

impl KeelApp {
    pub fn new(app: &App) -> Self {
        let item: Self = glib::Object::builder().property("key", &app.key).build();
        item.update(app);
        item
    }

    /// Takes a fresh record of the same ref; only properties that changed notify.
    pub fn update(&self, app: &App) {
        if *self.imp().record.borrow() == *app {
            return;
        }
        let _frozen = self.freeze_notify();
        macro_rules! put {
            ($get:ident, $set:ident, $value:expr) => {{
                let value = $value;
                if self.$get() != value {
                    self.$set(value);
                }
            }};
        }
        // A broken entry may have neither name nor id: its ref names it then.
        let name = [&app.name, &app.id, &app.reference, &app.key]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or(&app.key);
        put!(runtime, set_runtime, app.kind == AppKind::Runtime);
        put!(id, set_id, app.id.clone());
        put!(name, set_name, name.clone());
        put!(summary, set_summary, app.summary.clone());
        put!(version, set_version, app.version.clone());
        put!(branch, set_branch, app.branch.clone());
        put!(installation, set_installation, app.installation.clone());
        put!(installed_size, set_installed_size, app.installed_size);
        put!(icon, set_icon, app.icon.clone());
        put!(has_update, set_has_update, !app.update_commit.is_empty());
        put!(end_of_life, set_end_of_life, app.end_of_life.clone());
        put!(
            end_of_life_rebase,
            set_end_of_life_rebase,
            app.end_of_life_rebase.clone()
        );
        put!(unused, set_unused, app.unused);
        put!(broken, set_broken, app.broken.clone());
        self.imp().record.replace(app.clone());
    }

    /// Whether a search for `needle` (already lowercased) finds it: by name, id or summary.
    pub fn matches(&self, needle: &str) -> bool {
        let record = self.imp().record.borrow();
        needle.is_empty()
            || [&record.name, &record.id, &record.summary]
                .iter()
                .any(|text| text.to_lowercase().contains(needle))
    }
}
