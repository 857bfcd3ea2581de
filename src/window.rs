//! The main window: the System, Packages and History pages, fed by the backend service.
//!
//! State arrives from the backend (`GetStatus`, `StatusChanged`) into list models bound to the
//! lists; actions start transactions whose progress drives one progress bar.

use std::cell::{OnceCell, RefCell};

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::{gettext, ngettext};
use gtk::{gio, glib};
use keel_api::model::{CleanupEstimate, Deployment, HistoryEntry, SystemStatus};
use keel_api::packages::PackageDiff;

use crate::application::KeelApplication;
use crate::client::{Client, Connected, Operation, Progress, Target};
use crate::config;
use crate::deployment::KeelDeployment;
use crate::error::UiError;
use crate::listdiff::Change;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/keelapp/Keel/window.ui")]
    pub struct KeelWindow {
        #[template_child]
        pub toasts: TemplateChild<adw::ToastOverlay>,
        #[template_child]
        pub demo_banner: TemplateChild<adw::Banner>,
        #[template_child]
        pub restart_banner: TemplateChild<adw::Banner>,
        #[template_child]
        pub update_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub update_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub changes_row: TemplateChild<adw::ExpanderRow>,
        #[template_child]
        pub progress_row: TemplateChild<adw::PreferencesRow>,
        #[template_child]
        pub progress_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub progress_bar: TemplateChild<gtk::ProgressBar>,
        #[template_child]
        pub deployments_list: TemplateChild<gtk::ListBox>,
        #[template_child]
        pub packages_list: TemplateChild<gtk::ListBox>,
        #[template_child]
        pub history_list: TemplateChild<gtk::ListBox>,
        pub target: OnceCell<Target>,
        pub client: RefCell<Option<Client>>,
        pub status: RefCell<Option<SystemStatus>>,
        pub deployments: OnceCell<gio::ListStore>,
        pub packages: OnceCell<gtk::StringList>,
        pub history: OnceCell<gio::ListStore>,
        pub running: RefCell<Option<zbus::zvariant::OwnedObjectPath>>,
        pub change_rows: RefCell<Vec<adw::ActionRow>>,
        pub inhibit_cookie: RefCell<Option<u32>>,
        pub settings: OnceCell<gio::Settings>,
        pub bench_reported: std::cell::Cell<bool>,
        /// A refresh is under way; `refresh_again` asks it to read once more when done.
        pub refreshing: std::cell::Cell<bool>,
        pub refresh_again: std::cell::Cell<bool>,
        /// Cancel was pressed while waiting for another program to release the system.
        pub wait_cancelled: std::cell::Cell<bool>,
        /// A transaction runs (or Keel waits to start one).
        pub busy: std::cell::Cell<bool>,
        /// The phase the progress text shows, and when that text last changed.
        pub progress_phase: RefCell<String>,
        pub progress_text_at: std::cell::Cell<Option<std::time::Instant>>,
        /// The update row shows a running transaction, not the status.
        pub update_row_overwritten: std::cell::Cell<bool>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelWindow {
        const NAME: &'static str = "KeelWindow";
        type Type = super::KeelWindow;
        type ParentType = adw::ApplicationWindow;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            klass.install_action_async("win.refresh", None, |win, _, _| async move {
                win.refresh().await;
            });
            klass.install_action_async("win.check", None, |win, _, _| async move {
                win.run(Operation::Check).await;
            });
            klass.install_action_async("win.update", None, |win, _, _| async move {
                win.run(Operation::Update).await;
            });
            klass.install_action_async("win.cancel", None, |win, _, _| async move {
                win.cancel().await;
            });
            klass.install_action_async("win.rollback", None, |win, _, _| async move {
                win.confirm_rollback(None).await;
            });
            klass.install_action_async("win.restart", None, |win, _, _| async move {
                win.run(Operation::Reboot).await;
            });
            klass.install_action_async("win.cleanup", None, |win, _, _| async move {
                win.confirm_cleanup().await;
            });
            klass.install_action_async("win.reset-packages", None, |win, _, _| async move {
                win.run(Operation::ResetPackages).await;
            });
            klass.install_action_async("win.add-package", None, |win, _, _| async move {
                win.add_package().await;
            });
            let string = Some(glib::VariantTy::STRING);
            klass.install_action_async("win.pin", string, |win, _, id| async move {
                win.run(Operation::Pin(id_of(id))).await;
            });
            klass.install_action_async("win.unpin", string, |win, _, id| async move {
                win.run(Operation::Unpin(id_of(id))).await;
            });
            klass.install_action_async("win.boot-next", string, |win, _, id| async move {
                win.confirm_rollback(Some(id_of(id))).await;
            });
            klass.install_action_async("win.remove", string, |win, _, id| async move {
                win.run(Operation::Remove(id_of(id))).await;
            });
            klass.install_action_async("win.compare", string, |win, _, id| async move {
                win.compare(id_of(id)).await;
            });
            klass.install_action_async("win.config-diff", string, |win, _, id| async move {
                win.show_config_diff(id_of(id)).await;
            });
            klass.install_action_async("win.uninstall", string, |win, _, name| async move {
                win.run(Operation::Uninstall(vec![id_of(name)])).await;
            });
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for KeelWindow {
        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            if config::DEVEL {
                obj.add_css_class("devel");
            }
            obj.setup_lists();
            obj.restore_size();
        }
    }

    impl WidgetImpl for KeelWindow {}

    impl WindowImpl for KeelWindow {
        fn close_request(&self) -> glib::Propagation {
            self.obj().save_size();
            self.parent_close_request()
        }
    }
    impl ApplicationWindowImpl for KeelWindow {}
    impl AdwApplicationWindowImpl for KeelWindow {}
}

fn id_of(parameter: Option<glib::Variant>) -> String {
    parameter
        .and_then(|v| v.get::<String>())
        .unwrap_or_default()
}

glib::wrapper! {
    pub struct KeelWindow(ObjectSubclass<imp::KeelWindow>)
        @extends adw::ApplicationWindow, gtk::ApplicationWindow, gtk::Window, gtk::Widget,
        @implements gio::ActionGroup, gio::ActionMap, gtk::Accessible, gtk::Buildable,
                    gtk::ConstraintTarget, gtk::Native, gtk::Root, gtk::ShortcutManager;
}

/// Keel's settings; None when the schema is not installed (then defaults apply, nothing is saved).
pub fn settings() -> Option<gio::Settings> {
    let source = gio::SettingsSchemaSource::default()?;
    source.lookup(config::SCHEMA_ID, true)?;
    Some(gio::Settings::new(config::SCHEMA_ID))
}

/// Actions that change the system: off while a transaction runs.
const MUTATIONS: &[&str] = &[
    "win.check",
    "win.update",
    "win.rollback",
    "win.restart",
    "win.cleanup",
    "win.reset-packages",
    "win.add-package",
    "win.pin",
    "win.unpin",
    "win.boot-next",
    "win.remove",
    "win.uninstall",
];

impl KeelWindow {
    pub fn new(app: &KeelApplication, target: Target) -> Self {
        let win: Self = glib::Object::builder().property("application", app).build();
        let _ = win.imp().target.set(target);
        win.action_set_enabled("win.cancel", false);
        glib::spawn_future_local(glib::clone!(
            #[weak]
            win,
            async move { win.start().await }
        ));
        win
    }

    /// Mutations are off while a transaction runs, and those with nothing to act on are off too.
    fn update_actions(&self) {
        let imp = self.imp();
        let busy = imp.busy.get();
        let status = imp.status.borrow();
        let deployments = status.as_ref().map_or(0, |s| s.deployments.len());
        let layered = status
            .as_ref()
            .and_then(|s| s.deployments.first())
            .is_some_and(|d| !d.requested_packages.is_empty());
        for action in MUTATIONS {
            let possible = match *action {
                "win.reset-packages" => layered,
                "win.rollback" => deployments > 1,
                _ => true,
            };
            self.action_set_enabled(action, !busy && possible);
        }
    }

    /// The system this window shows.
    pub fn target(&self) -> Option<&Target> {
        self.imp().target.get()
    }

    fn settings(&self) -> Option<&gio::Settings> {
        let imp = self.imp();
        if imp.settings.get().is_none() {
            let _ = imp.settings.set(settings()?);
        }
        imp.settings.get()
    }

    /// Checks for updates by itself when the person asked for it and the last check is older than
    /// the interval; looks again every ten minutes while the window is open.
    fn schedule_update_checks(&self) {
        let win = self.downgrade();
        let tick = move || {
            let Some(win) = win.upgrade() else {
                return glib::ControlFlow::Break;
            };
            let Some(settings) = win.settings().cloned() else {
                return glib::ControlFlow::Break;
            };
            let now = glib::real_time() / 1_000_000;
            let interval = i64::from(settings.uint("check-updates-interval")) * 3600;
            let due = now - settings.int64("last-update-check") >= interval;
            if settings.boolean("check-updates-automatically")
                && due
                && win.imp().running.borrow().is_none()
            {
                let _ = settings.set_int64("last-update-check", now);
                glib::spawn_future_local(async move { win.run(Operation::Check).await });
            }
            glib::ControlFlow::Continue
        };
        let first = tick.clone();
        first();
        glib::timeout_add_seconds_local(600, tick);
    }

    fn restore_size(&self) {
        let Some(settings) = self.settings() else {
            tracing::warn!(
                "the {} schema is not installed; window size is not remembered",
                config::SCHEMA_ID
            );
            return;
        };
        self.set_default_size(settings.int("window-width"), settings.int("window-height"));
        if settings.boolean("is-maximized") {
            self.maximize();
        }
    }

    fn save_size(&self) {
        let Some(settings) = self.settings() else {
            return;
        };
        let (width, height) = self.default_size();
        let _ = settings.set_int("window-width", width);
        let _ = settings.set_int("window-height", height);
        let _ = settings.set_boolean("is-maximized", self.is_maximized());
    }

    fn setup_lists(&self) {
        let imp = self.imp();
        let deployments = gio::ListStore::new::<KeelDeployment>();
        imp.deployments_list.bind_model(
            Some(&deployments),
            glib::clone!(
                #[weak(rename_to = win)]
                self,
                #[upgrade_or_panic]
                move |item| win
                    .deployment_row(item.downcast_ref().expect("deployments"))
                    .upcast()
            ),
        );
        let packages = gtk::StringList::new(&[]);
        imp.packages_list.bind_model(
            Some(&packages),
            glib::clone!(
                #[weak(rename_to = win)]
                self,
                #[upgrade_or_panic]
                move |item| win.package_row(item).upcast()
            ),
        );
        imp.packages_list
            .set_placeholder(Some(&placeholder_row(&gettext("No packages are layered"))));
        let history = gio::ListStore::new::<glib::BoxedAnyObject>();
        imp.history_list
            .bind_model(Some(&history), |item| history_row(item).upcast());
        imp.history_list
            .set_placeholder(Some(&placeholder_row(&gettext(
                "Nothing has been done yet",
            ))));
        let _ = imp.deployments.set(deployments);
        let _ = imp.packages.set(packages);
        let _ = imp.history.set(history);
    }

    fn client(&self) -> Option<Client> {
        self.imp().client.borrow().clone()
    }

    async fn start(&self) {
        tracing::debug!("window started");
        let target = self
            .imp()
            .target
            .get()
            .cloned()
            .unwrap_or_else(Target::default_for_host);
        self.imp()
            .update_row
            .set_title(&gettext("Connecting to the backend…"));
        let pending = self
            .application()
            .and_downcast::<KeelApplication>()
            .and_then(|app| app.imp().connection.take())
            .filter(|(started_for, _)| *started_for == target)
            .map(|(_, pending)| pending)
            .unwrap_or_else(|| Client::connect_in_background(&target));
        let connected = pending.recv().await.unwrap_or_else(|_| {
            Err(UiError::new(
                gettext("Keel cannot reach its backend"),
                gettext("Connecting stopped unexpectedly."),
            ))
        });
        let Connected { client, status } = match connected {
            Ok(connected) => connected,
            Err(err) => {
                self.imp()
                    .update_row
                    .set_title(&gettext("Keel’s backend is not available"));
                self.show_error(&err);
                return;
            }
        };
        tracing::debug!("backend registered");
        self.imp().client.replace(Some(client.clone()));
        if let Some(status) = status {
            self.show_status(status);
        }
        // Listening starts before the read below: a change made in between is not lost, and
        // changes keep arriving while a running transaction is followed.
        let win = self.downgrade();
        client
            .watch(move || {
                let Some(win) = win.upgrade() else {
                    return false; // the window is gone
                };
                glib::spawn_future_local(async move { win.refresh().await });
                true
            })
            .await;
        self.refresh().await;
        tracing::debug!("status shown");
        self.schedule_update_checks();
        // A transaction started earlier (by another window or before a restart of Keel).
        if let Some(path) = client.active_transaction().await {
            self.follow(path).await;
        }
    }

    /// Reads the system again. Requests that arrive while one runs (a burst of change signals) are
    /// folded into a single further read.
    async fn refresh(&self) {
        let imp = self.imp();
        if imp.refreshing.replace(true) {
            imp.refresh_again.set(true);
            return;
        }
        loop {
            imp.refresh_again.set(false);
            self.read_system().await;
            if !imp.refresh_again.get() {
                break;
            }
        }
        imp.refreshing.set(false);
    }

    async fn read_system(&self) {
        let Some(client) = self.client() else { return };
        match client.status().await {
            Ok(status) => self.show_status(status),
            Err(err) => self.show_error(&err),
        }
        if let Ok(history) = client.history().await {
            let store = self.imp().history.get().expect("set up");
            let entries: Vec<HistoryEntry> = history.into_iter().rev().collect();
            let current = |i: u32| {
                store
                    .item(i)
                    .and_downcast::<glib::BoxedAnyObject>()
                    .map(|b| b.borrow::<HistoryEntry>().clone())
            };
            if let Some(change) = Change::between(store.n_items(), current, &entries, |a, b| a == b)
            {
                let added: Vec<glib::BoxedAnyObject> = entries[change.added.clone()]
                    .iter()
                    .cloned()
                    .map(glib::BoxedAnyObject::new)
                    .collect();
                store.splice(change.position, change.removed, &added);
            }
        }
    }

    fn show_status(&self, status: SystemStatus) {
        let imp = self.imp();
        // The rows read the OS name from here, so it is set before the model changes.
        let previous = imp.status.replace(Some(status.clone()));
        // Deployments, matched by id: a deployment still there updates its item in place (its row
        // follows the item's properties); only new ones get new rows, so a burst of changes costs
        // little and a focused row keeps its focus.
        let store = imp.deployments.get().expect("set up");
        let current = |i: u32| store.item(i).and_downcast::<KeelDeployment>();
        let change = Change::between(store.n_items(), current, &status.deployments, |item, d| {
            item.id() == d.id
        });
        if let Some(change) = &change {
            let items: Vec<KeelDeployment> = status.deployments[change.added.clone()]
                .iter()
                .map(KeelDeployment::new)
                .collect();
            store.splice(change.position, change.removed, &items);
        }
        for (i, d) in status.deployments.iter().enumerate() {
            if let Some(item) = current(i as u32) {
                item.update(d);
            }
        }
        if previous
            .as_ref()
            .is_some_and(|p| p.os_name != status.os_name)
        {
            // Every row's title names the OS.
            for i in 0..store.n_items() {
                if let Some(item) = current(i) {
                    item.notify_version();
                }
            }
        }
        if store.n_items() > 0
            && crate::bench::mode().is_some()
            && !imp.bench_reported.replace(true)
        {
            self.bench_ready();
        }

        // Layered packages of what boots next.
        let next = status.deployments.first();
        let names: Vec<String> = next
            .map(|d| d.requested_packages.clone())
            .unwrap_or_default();
        let packages = imp.packages.get().expect("set up");
        let current = |i: u32| packages.string(i).map(String::from);
        if let Some(change) = Change::between(packages.n_items(), current, &names, |a, b| a == b) {
            let added: Vec<&str> = names[change.added.clone()]
                .iter()
                .map(String::as_str)
                .collect();
            packages.splice(change.position, change.removed, &added);
        }
        self.update_actions();

        // Demo banner.
        if status.demo || status.booted_emulated {
            let text = if status.demo {
                // Translators: {} is a folder.
                gettext("This is Keel’s demo system, in {}. Restarts are simulated.")
                    .replace("{}", &status.sysroot)
            } else {
                gettext("Showing the sysroot in {}, not the running system.")
                    .replace("{}", &status.sysroot)
            };
            imp.demo_banner.set_title(&text);
            imp.demo_banner.set_revealed(true);
        } else {
            imp.demo_banner.set_revealed(false);
        }

        // Restart banner when something newer waits for the next boot.
        match status
            .deployments
            .iter()
            .find(|d| d.pending && d.index == 0)
        {
            Some(d) => {
                let name = format!(
                    "{} {}",
                    status.os_name,
                    d.version.clone().unwrap_or_default()
                );
                imp.restart_banner
                    .set_title(&gettext("Restart to use {}").replace("{}", name.trim()));
                imp.restart_banner.set_revealed(true);
            }
            None => imp.restart_banner.set_revealed(false),
        }

        // Update row, redone only when what it says changes (or a transaction wrote over it).
        let booted_version = |s: &SystemStatus| s.booted().map(|d| d.version.clone());
        let overwritten = imp.update_row_overwritten.replace(false);
        if !overwritten
            && previous.as_ref().is_some_and(|p| {
                p.cached_update == status.cached_update
                    && p.os_name == status.os_name
                    && booted_version(p) == booted_version(&status)
            })
        {
            return;
        }
        for row in imp.change_rows.take() {
            imp.changes_row.remove(&row);
        }
        match &status.cached_update {
            Some(update) => {
                let version = update
                    .version
                    .clone()
                    .unwrap_or_else(|| update.checksum.clone());
                imp.update_row.set_title(
                    &gettext("{} is available")
                        .replace("{}", &format!("{} {version}", status.os_name)),
                );
                imp.update_row.set_subtitle(&format!(
                    "{} · {}",
                    relative_date(update.timestamp),
                    diff_summary(&update.diff)
                ));
                imp.update_button.set_visible(true);
                let rows = diff_rows(&update.diff);
                for row in &rows {
                    imp.changes_row.add_row(row);
                }
                imp.changes_row.set_subtitle(&diff_summary(&update.diff));
                imp.changes_row.set_visible(!rows.is_empty());
                imp.change_rows.replace(rows);
            }
            None => {
                let booted = status
                    .booted()
                    .and_then(|d| d.version.clone())
                    .unwrap_or_default();
                imp.update_row
                    .set_title(&gettext("The system is up to date"));
                imp.update_row.set_subtitle(
                    &gettext("Running {}").replace("{}", &format!("{} {booted}", status.os_name)),
                );
                imp.update_button.set_visible(false);
                imp.changes_row.set_visible(false);
            }
        }
    }

    /// Benchmark hook: reports the first frame that shows the deployments, then quits or goes on to
    /// time an update's main-loop stalls.
    fn bench_ready(&self) {
        let Some(clock) = self.frame_clock() else {
            return;
        };
        let handler: std::rc::Rc<RefCell<Option<glib::SignalHandlerId>>> = Default::default();
        let slot = handler.clone();
        let win = self.downgrade();
        let id = clock.connect_after_paint(move |clock| {
            if let Some(id) = slot.take() {
                clock.disconnect(id);
            }
            println!("keel-bench ready");
            println!("keel-bench rss-kb {}", crate::bench::peak_rss_kb());
            let Some(win) = win.upgrade() else { return };
            if crate::bench::mode().as_deref() == Some("update") {
                glib::spawn_future_local(async move {
                    win.run(Operation::Check).await;
                    // Let the check's own effects (its toast's first frames) settle: the
                    // measure is of the update.
                    glib::timeout_future(std::time::Duration::from_secs(1)).await;
                    let meter = crate::bench::StallMeter::start();
                    win.run(Operation::Update).await;
                    let stall = meter.stop();
                    println!("keel-bench stall-ms {:.1}", stall.as_secs_f64() * 1000.0);
                    println!("keel-bench rss-kb {}", crate::bench::peak_rss_kb());
                    if let Some(app) = win.application() {
                        app.quit();
                    }
                });
            } else if let Some(app) = win.application() {
                app.quit();
            }
        });
        handler.replace(Some(id));
    }

    /// A deployment's row. It is made once per deployment and follows the item's properties.
    fn deployment_row(&self, d: &KeelDeployment) -> adw::ActionRow {
        let row = adw::ActionRow::builder().subtitle_lines(2).build();
        let badge = |text: String| {
            let label = gtk::Label::builder()
                .label(text)
                .valign(gtk::Align::Center)
                .build();
            label.add_css_class("caption");
            label.add_css_class("dim-label");
            row.add_suffix(&label);
            label
        };
        let booted = badge(gettext("Booted"));
        let next = badge(gettext("Next Boot"));
        let rollback = badge(gettext("Rollback"));
        let pin = gtk::Image::from_icon_name("view-pin-symbolic");
        pin.set_tooltip_text(Some(&gettext("Pinned")));
        pin.update_property(&[gtk::accessible::Property::Label(&gettext("Pinned"))]);
        row.add_suffix(&pin);
        let menu = gio::Menu::new();
        let button = gtk::MenuButton::builder()
            .icon_name("view-more-symbolic")
            .menu_model(&menu)
            .valign(gtk::Align::Center)
            .tooltip_text(gettext("Deployment Actions"))
            .build();
        button.add_css_class("flat");
        row.add_suffix(&button);

        let win = self.downgrade();
        let shown = row.downgrade();
        let fill = move |d: &KeelDeployment| {
            let (Some(win), Some(row)) = (win.upgrade(), shown.upgrade()) else {
                return;
            };
            let os_name = win
                .imp()
                .status
                .borrow()
                .as_ref()
                .map(|s| s.os_name.clone())
                .unwrap_or_default();
            let version = if d.version().is_empty() {
                d.short_checksum()
            } else {
                d.version()
            };
            row.set_title(format!("{os_name} {version}").trim());
            let mut facts = vec![relative_date(d.timestamp())];
            if !d.origin().is_empty() {
                facts.push(d.origin());
            }
            facts.push(d.short_checksum());
            if d.layered() > 0 {
                facts.push(
                    ngettext("{} layered package", "{} layered packages", d.layered())
                        .replace("{}", &d.layered().to_string()),
                );
            }
            row.set_subtitle(&facts.join(" · "));
            booted.set_visible(d.booted());
            next.set_visible(d.index() == 0);
            rollback.set_visible(d.rollback());
            pin.set_visible(d.pinned());
            button.update_property(&[gtk::accessible::Property::Label(
                &gettext("Actions for {}").replace("{}", &version),
            )]);
            fill_deployment_menu(&menu, d);
        };
        fill(d);
        d.connect_notify_local(None, move |d, _| fill(d));
        row
    }

    /// A layered package, with where it stands: present now, or changing at the next boot.
    fn package_row(&self, item: &glib::Object) -> adw::ActionRow {
        let name = item
            .downcast_ref::<gtk::StringObject>()
            .map(|s| s.string().to_string())
            .unwrap_or_default();
        let status = self.imp().status.borrow();
        let present = status
            .as_ref()
            .and_then(|s| s.booted())
            .is_some_and(|d| d.layered_packages.contains(&name));
        let requested = status
            .as_ref()
            .and_then(|s| s.deployments.first())
            .is_some_and(|d| d.requested_packages.contains(&name));
        let subtitle = match (present, requested) {
            (true, true) => gettext("Layered"),
            (false, true) => gettext("Added at the next boot"),
            _ => gettext("Removed at the next boot"),
        };
        let row = adw::ActionRow::builder()
            .title(&name)
            .subtitle(subtitle)
            .build();
        if requested {
            let remove = gtk::Button::builder()
                .icon_name("user-trash-symbolic")
                .valign(gtk::Align::Center)
                .tooltip_text(gettext("Remove"))
                .action_name("win.uninstall")
                .action_target(&name.to_variant())
                .build();
            remove.add_css_class("flat");
            remove.update_property(&[gtk::accessible::Property::Label(
                &gettext("Remove {}").replace("{}", &name),
            )]);
            row.add_suffix(&remove);
        }
        row
    }

    /// Runs one operation as a transaction, with progress, and reports how it ended. When something
    /// else is changing the system, offers to wait: for Keel's own running transaction, or, when
    /// another program holds the sysroot, by trying again every second until it lets go.
    async fn run(&self, op: Operation) {
        let Some(client) = self.client() else { return };
        let imp = self.imp();
        let mut waiting = false;
        loop {
            if waiting {
                self.set_busy(true);
                imp.progress_label
                    .set_label(&gettext("Waiting for the other program to finish…"));
                imp.progress_bar.pulse();
                glib::timeout_future(std::time::Duration::from_secs(1)).await;
                if imp.wait_cancelled.take() {
                    self.set_busy(false);
                    self.toast(&gettext("Stopped waiting; nothing was changed"));
                    return;
                }
            }
            let result = match client.start(op.clone()).await {
                Ok(path) => self.track(path).await,
                Err(err) => Err(err),
            };
            match result {
                Ok(_) => break,
                Err(err) if err.is_busy() => {
                    if !waiting {
                        if !self.offer_to_wait(&err).await {
                            return;
                        }
                        waiting = true;
                        imp.wait_cancelled.set(false);
                    }
                    if let Some(active) = client.active_transaction().await {
                        self.follow(active).await;
                    }
                }
                Err(err) => {
                    if waiting {
                        self.set_busy(false);
                    }
                    self.report_failure(&err);
                    return;
                }
            }
        }
        let text = match op {
            Operation::Check => {
                let found = imp
                    .status
                    .borrow()
                    .as_ref()
                    .is_some_and(|s| s.cached_update.is_some());
                if found {
                    gettext("An update is available")
                } else {
                    gettext("The system is up to date")
                }
            }
            _ => success_message(&op),
        };
        self.toast(&text);
    }

    /// Follows a transaction that is already running (started by another window, or before Keel
    /// was opened) and reports a failure.
    async fn follow(&self, path: zbus::zvariant::OwnedObjectPath) {
        if let Err(err) = self.track(path).await {
            self.report_failure(&err);
        }
    }

    /// Shows a transaction's progress until it ends, then reads the system again.
    async fn track(&self, path: zbus::zvariant::OwnedObjectPath) -> Result<String, UiError> {
        let Some(client) = self.client() else {
            return Err(UiError::new(
                gettext("Keel cannot reach its backend"),
                String::new(),
            ));
        };
        let imp = self.imp();
        imp.running.replace(Some(path.clone()));
        self.set_busy(true);
        if let Some(operation) = client.operation(path.clone()).await {
            self.show_running(operation);
        }
        let win = self.downgrade();
        let result = client
            .follow(path, move |p: Progress| {
                if let Some(win) = win.upgrade() {
                    win.show_progress(&p);
                }
            })
            .await;
        imp.running.replace(None);
        self.set_busy(false);
        self.refresh().await;
        result
    }

    /// While a check or an update runs, the update row says so (its usual text may no longer hold).
    fn show_running(&self, operation: keel_api::Operation) {
        let title = match operation {
            keel_api::Operation::Check => gettext("Checking for updates…"),
            keel_api::Operation::Download => gettext("Downloading the update…"),
            keel_api::Operation::Update => gettext("Updating…"),
            _ => return,
        };
        let imp = self.imp();
        imp.update_row.set_title(&title);
        imp.update_row_overwritten.set(true);
    }

    /// A cancellation is no error: a toast says nothing changed; anything else gets the dialog.
    fn report_failure(&self, err: &UiError) {
        if err.is_cancelled() {
            self.toast(&gettext("Cancelled; nothing was changed"));
        } else {
            self.show_error(err);
        }
    }

    /// The bar follows every report. The text changes with each new phase, and otherwise at most
    /// four times a second: a new text re-lays out the page, and nobody reads faster than that.
    fn show_progress(&self, p: &Progress) {
        let imp = self.imp();
        imp.progress_bar.set_fraction(p.fraction);
        let now = std::time::Instant::now();
        let new_phase = *imp.progress_phase.borrow() != p.phase;
        let due = imp
            .progress_text_at
            .get()
            .is_none_or(|at| now.duration_since(at) >= std::time::Duration::from_millis(250));
        if !(new_phase || due || p.fraction >= 1.0) {
            return;
        }
        imp.progress_phase.replace(p.phase.clone());
        imp.progress_text_at.set(Some(now));
        let percent = (p.fraction * 100.0).round() as u32;
        // Before its first report a transaction has no phase yet.
        let phase = if p.phase.is_empty() {
            gettext("Starting…")
        } else {
            p.phase.clone()
        };
        let text = if p.message.is_empty() {
            format!("{phase} — {percent} %")
        } else {
            format!("{phase}: {} — {percent} %", p.message)
        };
        imp.progress_label.set_label(&text);
    }

    fn set_busy(&self, busy: bool) {
        let imp = self.imp();
        imp.busy.set(busy);
        self.update_actions();
        self.action_set_enabled("win.cancel", busy);
        imp.progress_row.set_visible(busy);
        if busy {
            imp.progress_phase.take();
            imp.progress_text_at.set(None);
            imp.progress_bar.set_fraction(0.0);
            imp.progress_label.set_label(&gettext("Starting…"));
        }
        // Logging out or suspending in the middle of an update would be a poor surprise.
        if let Some(app) = self.application() {
            if busy && imp.inhibit_cookie.borrow().is_none() {
                let cookie = app.inhibit(
                    Some(self),
                    gtk::ApplicationInhibitFlags::LOGOUT | gtk::ApplicationInhibitFlags::SUSPEND,
                    Some(&gettext("The system is being changed")),
                );
                // 0: no session manager to ask (as under a bare X server).
                imp.inhibit_cookie.replace((cookie > 0).then_some(cookie));
            } else if !busy && let Some(cookie) = imp.inhibit_cookie.take() {
                app.uninhibit(cookie);
            }
        }
    }

    async fn cancel(&self) {
        let (Some(client), Some(path)) = (self.client(), self.imp().running.borrow().clone())
        else {
            // Not a transaction: the wait for another program to finish.
            self.imp().wait_cancelled.set(true);
            return;
        };
        if let Err(err) = client.cancel(path).await {
            self.show_error(&err);
        }
    }

    async fn confirm_rollback(&self, target: Option<String>) {
        let status = self.imp().status.borrow().clone();
        let Some(status) = status else { return };
        let chosen: Option<Deployment> = match &target {
            Some(id) => status.find(id).cloned(),
            None => status
                .deployments
                .iter()
                .find(|d| d.rollback)
                .or_else(|| {
                    status
                        .deployments
                        .iter()
                        .any(|d| d.pending)
                        .then(|| status.booted())
                        .flatten()
                })
                .cloned(),
        };
        let Some(chosen) = chosen else {
            self.show_error(&UiError::new(
                gettext("Nothing to Roll Back To"),
                gettext("There is no other deployment to boot."),
            ));
            return;
        };
        let name = format!(
            "{} {}",
            status.os_name,
            chosen.version.clone().unwrap_or_default()
        );
        let dialog = adw::AlertDialog::new(
            Some(&gettext("Roll Back?")),
            Some(
                &gettext("{} will start at the next boot. Nothing is deleted: the other deployments stay available.")
                    .replace("{}", name.trim()),
            ),
        );
        dialog.add_responses(&[
            ("cancel", &gettext("_Cancel")),
            ("rollback", &gettext("_Roll Back")),
        ]);
        dialog.set_response_appearance("rollback", adw::ResponseAppearance::Suggested);
        dialog.set_default_response(Some("rollback"));
        dialog.set_close_response("cancel");
        if dialog.choose_future(Some(self)).await == "rollback" {
            self.run(Operation::Rollback(target.unwrap_or_default()))
                .await;
        }
    }

    /// Asks before cleaning up, saying what goes and the space it frees (worked out by the backend
    /// while the dialog is already open).
    async fn confirm_cleanup(&self) {
        let Some(client) = self.client() else { return };
        let dialog = adw::AlertDialog::new(
            Some(&gettext("Clean Up?")),
            Some(&gettext("Working out what can be removed…")),
        );
        dialog.add_responses(&[
            ("cancel", &gettext("_Cancel")),
            ("cleanup", &gettext("C_lean Up")),
        ]);
        dialog.set_response_appearance("cleanup", adw::ResponseAppearance::Destructive);
        dialog.set_response_enabled("cleanup", false);
        dialog.set_close_response("cancel");
        let chosen = dialog.clone().choose_future(Some(self));
        let estimate = client.estimate_cleanup();
        futures_util::pin_mut!(chosen, estimate);
        let chosen = match futures_util::future::select(chosen, estimate).await {
            futures_util::future::Either::Left((response, _)) => response,
            futures_util::future::Either::Right((estimate, chosen)) => {
                match estimate {
                    Ok(estimate) => {
                        let status = self.imp().status.borrow().clone();
                        dialog.set_body(&cleanup_summary(&estimate, status.as_ref()));
                        dialog.set_response_enabled(
                            "cleanup",
                            !estimate.deployments.is_empty() || estimate.bytes > 0,
                        );
                    }
                    Err(err) => {
                        dialog.force_close();
                        self.show_error(&err);
                        return;
                    }
                }
                chosen.await
            }
        };
        if chosen == "cleanup" {
            self.run(Operation::Cleanup {
                pending: true,
                rollback: true,
            })
            .await;
        }
    }

    async fn compare(&self, id: String) {
        let Some(client) = self.client() else { return };
        match client.diff("booted", &id).await {
            Ok(diff) => self.present_list(
                &gettext("Compared with Booted"),
                &diff_summary(&diff),
                diff_rows(&diff),
            ),
            Err(err) => self.show_error(&err),
        }
    }

    async fn show_config_diff(&self, id: String) {
        let Some(client) = self.client() else { return };
        match client.config_diff(&id).await {
            Ok(diff) => {
                let mut rows = Vec::new();
                for (mark, files) in [
                    (gettext("Modified"), &diff.modified),
                    (gettext("Added"), &diff.added),
                    (gettext("Removed"), &diff.removed),
                ] {
                    for f in files {
                        rows.push(
                            adw::ActionRow::builder()
                                .title(format!("/etc/{f}"))
                                .subtitle(mark.as_str())
                                .build(),
                        );
                    }
                }
                let body = if rows.is_empty() {
                    gettext("/etc matches the image’s defaults.")
                } else {
                    ngettext(
                        "{} file in /etc differs from the image’s defaults.",
                        "{} files in /etc differ from the image’s defaults.",
                        rows.len() as u32,
                    )
                    .replace("{}", &rows.len().to_string())
                };
                self.present_list(&gettext("Local Configuration Changes"), &body, rows);
            }
            Err(err) => self.show_error(&err),
        }
    }

    /// A dialog with a short summary over a scrolling list of rows (none: the summary alone).
    fn present_list(&self, title: &str, body: &str, rows: Vec<adw::ActionRow>) {
        let dialog = adw::AlertDialog::new(Some(title), Some(body));
        if !rows.is_empty() {
            let list = gtk::ListBox::new();
            list.add_css_class("boxed-list");
            list.set_selection_mode(gtk::SelectionMode::None);
            for row in &rows {
                list.append(row);
            }
            let scroller = gtk::ScrolledWindow::builder()
                .child(&list)
                .propagate_natural_height(true)
                .max_content_height(360)
                .hscrollbar_policy(gtk::PolicyType::Never)
                .build();
            dialog.set_extra_child(Some(&scroller));
        }
        dialog.add_response("close", &gettext("_Close"));
        dialog.present(Some(self));
    }

    async fn add_package(&self) {
        let Some(client) = self.client() else { return };
        let available = match client.available_packages().await {
            Ok(list) => list,
            Err(err) => {
                self.show_error(&err);
                return;
            }
        };
        let dialog = adw::Dialog::builder()
            .title(gettext("Add Packages"))
            .content_width(420)
            .content_height(480)
            .build();
        let search = gtk::SearchEntry::builder()
            .placeholder_text(gettext("Search packages"))
            .build();
        search.update_property(&[gtk::accessible::Property::Label(&gettext(
            "Search packages",
        ))]);
        let list = gtk::ListBox::new();
        list.add_css_class("boxed-list");
        list.set_selection_mode(gtk::SelectionMode::None);
        // Which package was chosen, written by a row's button and read when the dialog closes.
        let chosen: std::rc::Rc<RefCell<Option<String>>> = Default::default();
        for p in available {
            let row = adw::ActionRow::builder()
                .title(&p.name)
                .subtitle(format!("{} · {}", p.summary, p.evr))
                .build();
            let add = gtk::Button::builder()
                .label(gettext("Add"))
                .valign(gtk::Align::Center)
                .build();
            // The name says which package; the visible label alone would name it only "Add".
            add.reset_relation(gtk::AccessibleRelation::LabelledBy);
            add.update_property(&[gtk::accessible::Property::Label(
                &gettext("Add {}").replace("{}", &p.name),
            )]);
            let tx = chosen.clone();
            let name = p.name.clone();
            let dialog_ref = dialog.downgrade();
            add.connect_clicked(move |_| {
                tx.replace(Some(name.clone()));
                if let Some(d) = dialog_ref.upgrade() {
                    d.close();
                }
            });
            row.add_suffix(&add);
            list.append(&row);
        }
        // Escape clears the search first, then closes the dialog.
        let dialog_ref = dialog.downgrade();
        search.connect_stop_search(move |entry| {
            if !entry.text().is_empty() {
                entry.set_text("");
            } else if let Some(d) = dialog_ref.upgrade() {
                d.close();
            }
        });
        let filter_list = list.clone();
        search.connect_search_changed(move |entry| {
            let needle = entry.text().to_lowercase();
            let mut child = filter_list.first_child();
            while let Some(widget) = child {
                if let Some(row) = widget.downcast_ref::<adw::ActionRow>() {
                    let hay = format!("{} {}", row.title(), row.subtitle().unwrap_or_default())
                        .to_lowercase();
                    row.set_visible(needle.is_empty() || hay.contains(&needle));
                }
                child = widget.next_sibling();
            }
        });
        let body = gtk::Box::builder()
            .orientation(gtk::Orientation::Vertical)
            .spacing(12)
            .margin_top(12)
            .margin_bottom(12)
            .margin_start(12)
            .margin_end(12)
            .build();
        body.append(&search);
        body.append(
            &gtk::ScrolledWindow::builder()
                .child(&list)
                .vexpand(true)
                .hscrollbar_policy(gtk::PolicyType::Never)
                .build(),
        );
        let view = adw::ToolbarView::new();
        view.add_top_bar(&adw::HeaderBar::new());
        view.set_content(Some(&body));
        dialog.set_child(Some(&view));
        let (closed_tx, closed_rx) = futures_channel_once();
        dialog.connect_closed(move |_| {
            if let Some(tx) = closed_tx.take() {
                let _ = tx.try_send(());
            }
        });
        dialog.present(Some(self));
        let _ = closed_rx.recv().await;
        let choice = chosen.take();
        if let Some(name) = choice {
            self.run(Operation::Install(vec![name])).await;
        }
    }

    /// Busy: says what is running and offers to wait for it; true when the person chose to wait.
    async fn offer_to_wait(&self, err: &UiError) -> bool {
        let dialog = adw::AlertDialog::new(Some(&err.title), Some(&err.detail));
        dialog.add_responses(&[
            ("close", &gettext("_Close")),
            ("wait", &gettext("_Wait and Retry")),
        ]);
        dialog.set_response_appearance("wait", adw::ResponseAppearance::Suggested);
        dialog.set_close_response("close");
        dialog.choose_future(Some(self)).await == "wait"
    }

    /// The error funnel: a dialog with the backend's sentence when the window is active, a
    /// notification otherwise.
    pub fn show_error(&self, err: &UiError) {
        if err.is_cancelled() {
            return;
        }
        tracing::warn!("{}: {} ({})", err.title, err.detail, err.technical);
        if !self.is_active()
            && let Some(app) = self.application()
        {
            let notification = gio::Notification::new(&err.title);
            notification.set_body(Some(&err.detail));
            app.send_notification(Some("error"), &notification);
        }
        let dialog = adw::AlertDialog::new(Some(&err.title), Some(&err.detail));
        if !err.technical.is_empty() {
            let text = gtk::Label::builder()
                .label(&err.technical)
                .selectable(true)
                .wrap(true)
                .wrap_mode(gtk::pango::WrapMode::WordChar)
                .xalign(0.0)
                .build();
            text.add_css_class("monospace");
            text.add_css_class("caption");
            let details = gtk::Expander::builder()
                .label(gettext("Details"))
                .child(&text)
                .build();
            dialog.set_extra_child(Some(&details));
        }
        dialog.add_response("close", &gettext("_Close"));
        dialog.present(Some(self));
    }

    /// The newest outcome replaces any toast still showing: after a quick run of operations, a
    /// queue of old news would trail behind for half a minute.
    fn toast(&self, text: &str) {
        let toast = adw::Toast::new(text);
        toast.set_priority(adw::ToastPriority::High);
        self.imp().toasts.add_toast(toast);
    }
}

/// A one-shot signal from a GTK callback to an async function.
fn futures_channel_once() -> (
    RefCell<Option<async_channel::Sender<()>>>,
    async_channel::Receiver<()>,
) {
    let (tx, rx) = async_channel::bounded(1);
    (RefCell::new(Some(tx)), rx)
}

fn success_message(op: &Operation) -> String {
    match op {
        Operation::Check => gettext("Checked for updates"),
        Operation::Update => gettext("The update is ready; restart to use it"),
        Operation::Rollback(_) => gettext("Rolled back; it takes effect at the next boot"),
        Operation::Pin(_) => gettext("Pinned"),
        Operation::Unpin(_) => gettext("Unpinned"),
        Operation::Remove(_) => gettext("Deployment removed"),
        Operation::Install(names) => {
            gettext("{} will be added at the next boot").replace("{}", &names.join(", "))
        }
        Operation::Uninstall(names) => {
            gettext("{} will be removed at the next boot").replace("{}", &names.join(", "))
        }
        Operation::ResetPackages => {
            gettext("All layered packages will be removed at the next boot")
        }
        Operation::Cleanup { .. } => gettext("Cleaned up"),
        Operation::Reboot => gettext("Restarted (simulated)"),
    }
}

fn placeholder_row(text: &str) -> gtk::Label {
    let label = gtk::Label::builder()
        .label(text)
        .margin_top(18)
        .margin_bottom(18)
        .build();
    label.add_css_class("dim-label");
    label
}

fn history_row(item: &glib::Object) -> gtk::Widget {
    let boxed = item
        .downcast_ref::<glib::BoxedAnyObject>()
        .expect("history entries");
    let entry = boxed.borrow::<HistoryEntry>();
    let what = operation_name(entry.operation);
    let versions = match (&entry.from_version, &entry.to_version) {
        (Some(a), Some(b)) if a != b => format!(" — {a} → {b}"),
        _ => String::new(),
    };
    let title = format!("{what}{versions}");
    let outcome = if entry.success {
        entry.message.clone()
    } else {
        gettext("Failed: {}").replace("{}", &entry.message)
    };
    let subtitle = format!("{} · {outcome}", date_and_time(entry.time));
    match &entry.diff {
        Some(diff) if !diff.is_empty() => {
            let row = adw::ExpanderRow::builder()
                .title(&title)
                .subtitle(&subtitle)
                .build();
            for change in diff_rows(diff) {
                row.add_row(&change);
            }
            row.upcast()
        }
        _ => {
            let row = adw::ActionRow::builder()
                .title(&title)
                .subtitle(&subtitle)
                .build();
            if !entry.success {
                row.add_prefix(&gtk::Image::from_icon_name("dialog-warning-symbolic"));
            }
            row.upcast()
        }
    }
}

fn operation_name(op: keel_api::Operation) -> String {
    use keel_api::Operation;
    match op {
        Operation::Update => gettext("Update"),
        Operation::Download => gettext("Download"),
        Operation::Check => gettext("Check for Updates"),
        Operation::Rollback => gettext("Rollback"),
        Operation::Pin => gettext("Pin"),
        Operation::Unpin => gettext("Unpin"),
        Operation::Remove => gettext("Remove Deployment"),
        Operation::Install => gettext("Add Packages"),
        Operation::Uninstall => gettext("Remove Packages"),
        Operation::ResetPackages => gettext("Reset Packages"),
        Operation::Cleanup => gettext("Clean Up"),
        Operation::Reboot => gettext("Restart"),
    }
}

/// "12 upgraded, 1 added, 1 removed", localised with plurals.
pub fn diff_summary(diff: &PackageDiff) -> String {
    let parts: Vec<String> = [
        (
            diff.upgraded.len(),
            ngettext("{} upgraded", "{} upgraded", diff.upgraded.len() as u32),
        ),
        (
            diff.downgraded.len(),
            ngettext(
                "{} downgraded",
                "{} downgraded",
                diff.downgraded.len() as u32,
            ),
        ),
        (
            diff.added.len(),
            ngettext("{} added", "{} added", diff.added.len() as u32),
        ),
        (
            diff.removed.len(),
            ngettext("{} removed", "{} removed", diff.removed.len() as u32),
        ),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, text)| text.replace("{}", &n.to_string()))
    .collect();
    if parts.is_empty() {
        gettext("No package changes")
    } else {
        parts.join(", ")
    }
}

fn diff_rows(diff: &PackageDiff) -> Vec<adw::ActionRow> {
    let row = |title: &str, subtitle: String| {
        adw::ActionRow::builder()
            .title(title)
            .subtitle(subtitle)
            .build()
    };
    let mut rows = Vec::new();
    for c in &diff.upgraded {
        rows.push(row(&c.name, format!("{} → {}", c.old_evr, c.new_evr)));
    }
    for c in &diff.downgraded {
        rows.push(row(
            &c.name,
            gettext("Downgraded: {}").replace("{}", &format!("{} → {}", c.old_evr, c.new_evr)),
        ));
    }
    for p in &diff.added {
        rows.push(row(&p.name, gettext("Added: {}").replace("{}", &p.evr())));
    }
    for p in &diff.removed {
        rows.push(row(&p.name, gettext("Removed: {}").replace("{}", &p.evr())));
    }
    rows
}

/// The Clean Up dialog's body: which deployments go and the space freed.
fn cleanup_summary(estimate: &CleanupEstimate, status: Option<&SystemStatus>) -> String {
    let size = glib::format_size(estimate.bytes).to_string();
    if estimate.deployments.is_empty() {
        return if estimate.bytes == 0 {
            gettext(
                "There is nothing to clean up: only the booted and pinned deployments remain, and the repository holds nothing unused.",
            )
        } else {
            // Translators: {} is a size, like "12.3 MB".
            gettext(
                "This prunes unused data from the repository and frees {}. Every deployment stays.",
            )
            .replace("{}", &size)
        };
    }
    let names: Vec<String> = estimate
        .deployments
        .iter()
        .map(|id| {
            status
                .and_then(|s| s.find(id))
                .and_then(|d| d.version.clone())
                .unwrap_or_else(|| id.chars().take(10).collect())
        })
        .collect();
    let n = estimate.deployments.len() as u32;
    // Translators: {n} is a number, {list} versions, {size} a size like "12.3 MB".
    ngettext(
        "This removes {n} deployment ({list}) and frees {size}. The booted and pinned deployments stay.",
        "This removes {n} deployments ({list}) and frees {size}. The booted and pinned deployments stay.",
        n,
    )
    .replace("{n}", &n.to_string())
    .replace("{list}", &names.join(", "))
    .replace("{size}", &size)
}

/// What can be done with a deployment, as its row's menu offers it.
fn fill_deployment_menu(menu: &gio::Menu, d: &KeelDeployment) {
    menu.remove_all();
    let id = d.id();
    let item = |label: &str, action: &str| {
        let item = gio::MenuItem::new(Some(label), None);
        item.set_action_and_target_value(Some(action), Some(&id.to_variant()));
        item
    };
    if !d.staged() {
        if d.pinned() {
            menu.append_item(&item(&gettext("Unpin"), "win.unpin"));
        } else {
            menu.append_item(&item(&gettext("Pin"), "win.pin"));
        }
    }
    if d.index() != 0 {
        menu.append_item(&item(&gettext("Boot This Next"), "win.boot-next"));
    }
    if !d.booted() {
        menu.append_item(&item(&gettext("Compare with Booted"), "win.compare"));
    }
    menu.append_item(&item(
        &gettext("Local Configuration Changes"),
        "win.config-diff",
    ));
    if !d.booted() && !d.pinned() {
        menu.append_item(&item(&gettext("Remove"), "win.remove"));
    }
}

/// When something happened, to the minute: "Today, 14:02", "Yesterday, 09:15", else the locale's
/// date and time.
pub fn date_and_time(seconds: u64) -> String {
    let Ok(then) = glib::DateTime::from_unix_local(seconds as i64) else {
        return String::new();
    };
    let time = then
        .format("%H:%M")
        .map(|s| s.to_string())
        .unwrap_or_default();
    let day = relative_date(seconds);
    if (0..2).contains(&days_ago(&then)) {
        // Translators: {day} is "Today" or "Yesterday", {time} a time like "14:02".
        gettext("{day}, {time}")
            .replace("{day}", &day)
            .replace("{time}", &time)
    } else {
        then.format("%x %H:%M")
            .map(|s| s.to_string())
            .unwrap_or(day)
    }
}

/// Calendar days from `then` to today, in local time (yesterday 23:50 is 1 day ago at 00:10).
fn days_ago(then: &glib::DateTime) -> i64 {
    let midnight = |d: &glib::DateTime| {
        let (y, m, day) = d.ymd();
        glib::DateTime::from_local(y, m, day, 0, 0, 0.0).ok()
    };
    let Ok(now) = glib::DateTime::now_local() else {
        return i64::MAX;
    };
    match (midnight(&now), midnight(then)) {
        // Rounded: a day with a daylight-saving change is 23 or 25 hours long.
        (Some(today), Some(that_day)) => {
            (today.difference(&that_day).as_seconds() as f64 / 86_400.0).round() as i64
        }
        _ => i64::MAX,
    }
}

/// A date as people say it: "Today", "Yesterday", "3 days ago", else the locale's date.
pub fn relative_date(seconds: u64) -> String {
    let Ok(then) = glib::DateTime::from_unix_local(seconds as i64) else {
        return String::new();
    };
    match days_ago(&then) {
        d if d < 0 => then.format("%x").map(|s| s.to_string()).unwrap_or_default(),
        0 => gettext("Today"),
        1 => gettext("Yesterday"),
        d if d < 7 => ngettext("{} day ago", "{} days ago", d as u32).replace("{}", &d.to_string()),
        _ => then.format("%x").map(|s| s.to_string()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_calendar_days() {
        let now = glib::DateTime::now_local().unwrap();
        assert_eq!(days_ago(&now), 0);
        let (y, m, d) = now.ymd();
        let midnight = glib::DateTime::from_local(y, m, d, 0, 0, 0.0).unwrap();
        // A minute before midnight was yesterday, however few hours ago that is.
        assert_eq!(days_ago(&midnight.add_minutes(-1).unwrap()), 1);
        assert_eq!(days_ago(&midnight.add_days(-6).unwrap()), 6);
        assert_eq!(days_ago(&midnight.add_days(1).unwrap()), -1);
    }

    #[test]
    fn history_times_say_the_day_and_the_minute() {
        let now = glib::DateTime::now_local().unwrap();
        let text = date_and_time(now.to_unix() as u64);
        assert!(text.starts_with("Today, "), "{text}");
        assert!(
            text.ends_with(&now.format("%H:%M").unwrap().to_string()),
            "{text}"
        );
        let old = date_and_time(now.add_days(-30).unwrap().to_unix() as u64);
        assert!(!old.contains("Today") && old.contains(':'), "{old}");
    }
}
