//! `KeelSystemPage`: the Updates group (its row, the package changes, the progress of what runs)
//! and the deployments in boot order, with the page's actions. Its dialogs are in `dialogs.rs`.

use std::cell::{OnceCell, RefCell};

use adw::prelude::*;
use adw::subclass::prelude::*;
use gtk::glib;
use keel_api::model::{Advisory, Update};

use super::deployment_row::KeelDeploymentRow;
use super::update_row::KeelUpdateRow;
use crate::client::Operation;
use crate::format;
use crate::pages::progress_box::KeelProgressBox;
use crate::state::{KeelDeployment, KeelSystem};

/// The page's actions. Their names are spelled here only (and in the page's templates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Check,
    Update,
    UpdateAll,
    RollBack,
    CleanUp,
    /// The ones below take a deployment's id.
    Pin,
    Unpin,
    BootNext,
    Remove,
    Compare,
    ConfigDiff,
}

impl Action {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Check => "system.check",
            Self::Update => "system.update",
            Self::UpdateAll => "system.update-all",
            Self::RollBack => "system.roll-back",
            Self::CleanUp => "system.clean-up",
            Self::Pin => "system.pin",
            Self::Unpin => "system.unpin",
            Self::BootNext => "system.boot-next",
            Self::Remove => "system.remove",
            Self::Compare => "system.compare",
            Self::ConfigDiff => "system.config-diff",
        }
    }

    /// Those that change the system: off while a transaction runs.
    const MUTATIONS: [Self; 9] = [
        Self::Check,
        Self::Update,
        Self::UpdateAll,
        Self::RollBack,
        Self::CleanUp,
        Self::Pin,
        Self::Unpin,
        Self::BootNext,
        Self::Remove,
    ];
}

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate, glib::Properties)]
    #[template(file = "page.ui")]
    #[properties(wrapper_type = super::KeelSystemPage)]
    pub struct KeelSystemPage {
        #[template_child]
        pub update_row: TemplateChild<KeelUpdateRow>,
        #[template_child]
        pub updates_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub changes_row: TemplateChild<adw::ExpanderRow>,
        #[template_child]
        pub advisories_row: TemplateChild<adw::ExpanderRow>,
        #[template_child]
        pub progress_row: TemplateChild<adw::PreferencesRow>,
        #[template_child]
        pub progress_box: TemplateChild<KeelProgressBox>,
        #[template_child]
        pub deployments_list: TemplateChild<gtk::ListBox>,
        #[template_child]
        pub cleanup_button: TemplateChild<gtk::Button>,
        #[property(get, set = Self::set_system)]
        pub system: OnceCell<KeelSystem>,
        /// The update whose package changes the expander lists, and its rows.
        pub shown_update: RefCell<Option<Update>>,
        pub change_rows: RefCell<Vec<adw::ActionRow>>,
        pub advisory_rows: RefCell<Vec<adw::ActionRow>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelSystemPage {
        const NAME: &'static str = "KeelSystemPage";
        type Type = super::KeelSystemPage;
        type ParentType = adw::PreferencesPage;

        fn class_init(klass: &mut Self::Class) {
            KeelUpdateRow::ensure_type();
            KeelProgressBox::ensure_type();
            klass.bind_template();
            let run = |klass: &mut Self::Class, action: Action, op: fn(String) -> Operation| {
                let parameter = Some(glib::VariantTy::STRING);
                klass.install_action_async(
                    action.name(),
                    parameter,
                    move |page, _, id| async move { page.run(op(id_of(id))).await },
                );
            };
            run(klass, Action::Pin, Operation::Pin);
            run(klass, Action::Unpin, Operation::Unpin);
            run(klass, Action::Remove, Operation::Remove);
            klass.install_action_async(Action::Check.name(), None, |page, _, _| async move {
                page.system().check_all(page.upcast_ref()).await;
            });
            klass.install_action_async(Action::Update.name(), None, |page, _, _| async move {
                page.run(Operation::Update).await;
            });
            klass.install_action_async(Action::UpdateAll.name(), None, |page, _, _| async move {
                page.run(Operation::UpdateAll).await;
            });
            klass.install_action_async(Action::RollBack.name(), None, |page, _, _| async move {
                page.confirm_rollback(None).await;
            });
            klass.install_action_async(Action::CleanUp.name(), None, |page, _, _| async move {
                page.confirm_cleanup().await;
            });
            let string = Some(glib::VariantTy::STRING);
            klass.install_action_async(Action::BootNext.name(), string, |page, _, id| async move {
                page.confirm_rollback(Some(id_of(id))).await;
            });
            klass.install_action_async(Action::Compare.name(), string, |page, _, id| async move {
                page.compare(id_of(id)).await;
            });
            klass.install_action_async(
                Action::ConfigDiff.name(),
                string,
                |page, _, id| async move {
                    page.show_config_diff(id_of(id)).await;
                },
            );
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    #[glib::derived_properties]
    impl ObjectImpl for KeelSystemPage {}

    impl WidgetImpl for KeelSystemPage {}
    impl PreferencesPageImpl for KeelSystemPage {}

    impl KeelSystemPage {
        fn set_system(&self, system: KeelSystem) {
            let _ = self.system.set(system.clone());
            self.obj().bind(&system);
        }
    }
}

fn id_of(parameter: Option<glib::Variant>) -> String {
    parameter
        .and_then(|v| v.get::<String>())
        .unwrap_or_default()
}

glib::wrapper! {
    pub struct KeelSystemPage(ObjectSubclass<imp::KeelSystemPage>)
        @extends adw::PreferencesPage, gtk::Widget,
        @implements gtk::Accessible, gtk::Buildable, gtk::ConstraintTarget;
}

impl KeelSystemPage {
    fn bind(&self, system: &KeelSystem) {
        let imp = self.imp();
        imp.update_row.set_system(system);
        imp.deployments_list.bind_model(
            Some(&system.deployments()),
            glib::clone!(
                #[weak]
                system,
                #[upgrade_or_panic]
                move |item| {
                    let deployment = item.downcast_ref::<KeelDeployment>().expect("deployments");
                    KeelDeploymentRow::new(deployment, &system).upcast()
                }
            ),
        );
        system
            .bind_property("busy", &*imp.progress_row, "visible")
            .sync_create()
            .build();
        imp.progress_box.set_system(system);
        let page = self.downgrade();
        let update_actions = move |_: &KeelSystem| {
            if let Some(page) = page.upgrade() {
                page.update_actions();
            }
        };
        update_actions(system);
        system.connect_busy_notify(update_actions.clone());
        system.connect_can_roll_back_notify(update_actions.clone());
        system.connect_can_cleanup_notify(update_actions);
        system
            .bind_property("can-cleanup", &*imp.cleanup_button, "visible")
            .sync_create()
            .build();
        system.connect_status_changed(glib::clone!(
            #[weak(rename_to = page)]
            self,
            move |_| page.show_changes()
        ));
    }

    /// Mutations are off while a transaction runs, and those with nothing to act on are off too.
    fn update_actions(&self) {
        let system = self.system();
        let busy = system.busy();
        for action in Action::MUTATIONS {
            let possible = match action {
                Action::RollBack => system.can_roll_back(),
                Action::CleanUp | Action::Remove => system.can_cleanup(),
                _ => true,
            };
            self.action_set_enabled(action.name(), !busy && possible);
        }
    }

    /// The package changes and advisories of the update on the server, rebuilt only when that
    /// update changes; and which system this is.
    fn show_changes(&self) {
        let imp = self.imp();
        let Some((update, managed_by)) = self
            .system()
            .with_status(|s| (s.cached_update.clone(), format::host::managed_by(s)))
        else {
            return;
        };
        imp.updates_group.set_description(Some(&managed_by));
        if *imp.shown_update.borrow() == update {
            return;
        }
        for row in imp.change_rows.take() {
            imp.changes_row.remove(&row);
        }
        let rows = update
            .as_ref()
            .map(|u| crate::pages::change_rows(&u.diff))
            .unwrap_or_default();
        for row in &rows {
            imp.changes_row.add_row(row);
        }
        if let Some(update) = &update {
            imp.changes_row
                .set_subtitle(&format::diff_summary(&update.diff));
        }
        imp.changes_row.set_visible(!rows.is_empty());
        imp.change_rows.replace(rows);
        self.show_advisories(update.as_ref().map_or(&[], |u| &u.advisories));
        imp.shown_update.replace(update);
    }

    /// The errata the update fixes (rpm-ostree hosts), each with its severity.
    fn show_advisories(&self, advisories: &[Advisory]) {
        let imp = self.imp();
        for row in imp.advisory_rows.take() {
            imp.advisories_row.remove(&row);
        }
        let summary = format::host::advisories_summary(advisories);
        imp.advisories_row.set_visible(summary.is_some());
        let Some((title, subtitle)) = summary else {
            return;
        };
        imp.advisories_row.set_title(&title);
        imp.advisories_row.set_subtitle(&subtitle);
        let rows: Vec<adw::ActionRow> = advisories
            .iter()
            .map(|a| {
                let row = adw::ActionRow::builder()
                    .title(glib::markup_escape_text(&a.id))
                    .subtitle(glib::markup_escape_text(&format::host::advisory_packages(
                        a,
                    )))
                    .build();
                let severity = gtk::Label::new(Some(&a.severity_name()));
                severity.add_css_class("caption-heading");
                if let Some(style) = format::host::severity_style(a.severity) {
                    severity.add_css_class(style);
                }
                row.add_suffix(&severity);
                imp.advisories_row.add_row(&row);
                row
            })
            .collect();
        imp.advisory_rows.replace(rows);
    }

    pub(super) async fn run(&self, op: Operation) {
        self.system().run(op, self.upcast_ref()).await;
    }
}
