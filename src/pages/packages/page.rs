//! `KeelPackagesPage`: the packages layered on the image, each row following where its package
//! stands, and the page's actions (add, remove one, remove all).

use std::cell::{OnceCell, RefCell};

use adw::prelude::*;
use adw::subclass::prelude::*;
use gtk::glib;

use super::add_dialog::KeelAddPackagesDialog;
use super::package_row::KeelPackageRow;
use crate::client::Operation;
use crate::state::{KeelPackage, KeelSystem};

/// The page's actions. Their names are spelled here only (and in the page's templates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Add,
    /// Takes the package's name.
    Remove,
    Reset,
}

impl Action {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Add => "packages.add",
            Self::Remove => "packages.remove",
            Self::Reset => "packages.reset",
        }
    }
}

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate, glib::Properties)]
    #[template(file = "page.ui")]
    #[properties(wrapper_type = super::KeelPackagesPage)]
    pub struct KeelPackagesPage {
        #[template_child]
        pub packages_list: TemplateChild<gtk::ListBox>,
        #[template_child]
        pub add_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub no_source_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub overrides_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub overrides_list: TemplateChild<gtk::ListBox>,
        /// What the overrides list shows, so it is rebuilt only when that changes.
        pub shown_overrides: RefCell<Vec<(String, String)>>,
        #[property(get, set = Self::set_system)]
        pub system: OnceCell<KeelSystem>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelPackagesPage {
        const NAME: &'static str = "KeelPackagesPage";
        type Type = super::KeelPackagesPage;
        type ParentType = adw::PreferencesPage;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            klass.install_action_async(Action::Add.name(), None, |page, _, _| async move {
                page.add_packages().await;
            });
            klass.install_action_async(Action::Reset.name(), None, |page, _, _| async move {
                page.run(Operation::ResetPackages).await;
            });
            let name = Some(glib::VariantTy::STRING);
            klass.install_action_async(Action::Remove.name(), name, |page, _, name| async move {
                let name = name.and_then(|v| v.get::<String>()).unwrap_or_default();
                page.run(Operation::Uninstall(vec![name])).await;
            });
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    #[glib::derived_properties]
    impl ObjectImpl for KeelPackagesPage {}
    impl WidgetImpl for KeelPackagesPage {}
    impl PreferencesPageImpl for KeelPackagesPage {}

    impl KeelPackagesPage {
        fn set_system(&self, system: KeelSystem) {
            let _ = self.system.set(system.clone());
            self.obj().bind(&system);
        }
    }
}

glib::wrapper! {
    pub struct KeelPackagesPage(ObjectSubclass<imp::KeelPackagesPage>)
        @extends adw::PreferencesPage, gtk::Widget,
        @implements gtk::Accessible, gtk::Buildable, gtk::ConstraintTarget;
}

impl KeelPackagesPage {
    fn bind(&self, system: &KeelSystem) {
        self.imp()
            .packages_list
            .bind_model(Some(&system.packages()), |item| {
                let package = item.downcast_ref::<KeelPackage>().expect("packages");
                KeelPackageRow::new(package).upcast()
            });
        let page = self.downgrade();
        let update_actions = move |system: &KeelSystem| {
            if let Some(page) = page.upgrade() {
                let idle = !system.busy();
                page.action_set_enabled(Action::Add.name(), idle && system.can_layer());
                page.action_set_enabled(Action::Remove.name(), idle);
                page.action_set_enabled(Action::Reset.name(), idle && system.has_layered());
            }
        };
        update_actions(system);
        system.connect_busy_notify(update_actions.clone());
        system.connect_has_layered_notify(update_actions.clone());
        system.connect_can_layer_notify(update_actions);
        // Without a package source there is nothing to add: no button, rather than one that fails.
        let imp = self.imp();
        system
            .bind_property("can-layer", &*imp.add_button, "visible")
            .sync_create()
            .build();
        // Said, so the missing button is no puzzle (once a status has been read).
        system.connect_status_changed(glib::clone!(
            #[weak(rename_to = page)]
            self,
            move |system| {
                page.imp().no_source_label.set_visible(!system.can_layer());
                page.show_overrides(system);
            }
        ));
    }

    /// The next boot's changes to its image beyond layered packages (rpm-ostree hosts).
    fn show_overrides(&self, system: &KeelSystem) {
        let imp = self.imp();
        let lines = system
            .with_status(|s| {
                s.deployments
                    .first()
                    .map(crate::format::host::override_lines)
            })
            .flatten()
            .unwrap_or_default();
        if *imp.shown_overrides.borrow() == lines {
            return;
        }
        imp.overrides_list.remove_all();
        for (title, subtitle) in &lines {
            let row = adw::ActionRow::builder()
                .title(glib::markup_escape_text(title))
                .subtitle(glib::markup_escape_text(subtitle))
                .build();
            imp.overrides_list.append(&row);
        }
        imp.overrides_group.set_visible(!lines.is_empty());
        imp.shown_overrides.replace(lines);
    }

    async fn run(&self, op: Operation) {
        self.system().run(op, self.upcast_ref()).await;
    }

    /// Lists what the package source offers; the one chosen is layered.
    async fn add_packages(&self) {
        let system = self.system();
        let Some(client) = system.client() else {
            return;
        };
        let available = match client.available_packages().await {
            Ok(list) => list,
            Err(err) => {
                system.report(&err);
                return;
            }
        };
        let dialog = KeelAddPackagesDialog::new(&available);
        if let Some(name) = dialog.choose(self.upcast_ref()).await {
            self.run(Operation::Install(vec![name])).await;
        }
    }
}
