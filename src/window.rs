//! The main window: composes the pages (see `pages/`), the banners and the toasts around one
//! `KeelSystem` (see `state.rs`), which it connects to the backend. It shows what the system
//! object reports (toasts, errors), keeps the session from ending while a transaction runs, and
//! remembers its size.

use std::cell::{OnceCell, RefCell};

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::{gio, glib};

use crate::application::KeelApplication;
use crate::client::{Client, Operation, Target};
use crate::config;
use crate::format;
use crate::state::KeelSystem;

/// The window's actions. Their names are spelled here only (and in the window's template).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Refresh,
    Restart,
}

impl Action {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Refresh => "win.refresh",
            Self::Restart => "win.restart",
        }
    }
}

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/keelapp/Keel/window.ui")]
    pub struct KeelWindow {
        #[template_child]
        pub system: TemplateChild<KeelSystem>,
        #[template_child]
        pub toasts: TemplateChild<adw::ToastOverlay>,
        #[template_child]
        pub demo_banner: TemplateChild<adw::Banner>,
        #[template_child]
        pub restart_banner: TemplateChild<adw::Banner>,
        #[template_child]
        pub apps_stack_page: TemplateChild<adw::ViewStackPage>,
        #[template_child]
        pub stack: TemplateChild<adw::ViewStack>,
        pub target: OnceCell<Target>,
        pub inhibit_cookie: RefCell<Option<u32>>,
        pub settings: OnceCell<gio::Settings>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelWindow {
        const NAME: &'static str = "KeelWindow";
        type Type = super::KeelWindow;
        type ParentType = adw::ApplicationWindow;

        fn class_init(klass: &mut Self::Class) {
            KeelSystem::ensure_type();
            crate::pages::ensure_types();
            klass.bind_template();
            klass.install_action_async(Action::Refresh.name(), None, |win, _, _| async move {
                let system = win.system();
                futures_util::future::join(system.refresh(), system.refresh_apps()).await;
            });
            klass.install_action_async(Action::Restart.name(), None, |win, _, _| async move {
                win.system().run(Operation::Reboot, win.upcast_ref()).await;
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
            obj.follow_system();
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

impl KeelWindow {
    pub fn new(app: &KeelApplication, target: Target) -> Self {
        let win: Self = glib::Object::builder().property("application", app).build();
        let _ = win.imp().target.set(target.clone());
        #[cfg(feature = "bench")]
        crate::bench::attach(&win);
        // The connection the application started for this system, or a new one.
        let pending = app
            .take_connection(&target)
            .unwrap_or_else(|| Client::connect_in_background(&target));
        glib::spawn_future_local(glib::clone!(
            #[weak]
            win,
            async move {
                win.system().start(pending).await;
                win.schedule_update_checks();
            }
        ));
        win
    }

    /// The system this window shows.
    pub fn system(&self) -> KeelSystem {
        self.imp().system.get()
    }

    /// Shows one of the pages (`system`, `packages`, `apps`, `history`).
    pub fn show_page(&self, name: &str) {
        self.imp().stack.set_visible_child_name(name);
    }

    /// Which system this window shows.
    pub fn target(&self) -> Option<&Target> {
        self.imp().target.get()
    }

    /// Banners, toasts, errors and the session inhibitor follow the system object.
    fn follow_system(&self) {
        let system = self.system();
        // The Apps tab counts the updates waiting.
        system
            .bind_property("app-updates", &*self.imp().apps_stack_page, "badge-number")
            .sync_create()
            .build();
        system.connect_status_changed(glib::clone!(
            #[weak(rename_to = win)]
            self,
            move |_| win.show_banners()
        ));
        system.connect_toast(glib::clone!(
            #[weak(rename_to = win)]
            self,
            move |_, text| win.toast(text)
        ));
        system.connect_error(glib::clone!(
            #[weak(rename_to = win)]
            self,
            move |_, err| crate::feedback::show_error(&win, err)
        ));
        system.connect_busy_notify(glib::clone!(
            #[weak(rename_to = win)]
            self,
            move |system| {
                win.action_set_enabled(Action::Restart.name(), !system.busy());
                win.inhibit_while(system.busy());
            }
        ));
    }

    fn show_banners(&self) {
        let imp = self.imp();
        let system = self.system();
        let banners = system.with_status(|status| {
            let demo = if status.demo {
                // Translators: {} is a folder.
                Some(
                    gettext("This is Keel’s demo system, in {}. Restarts are simulated.")
                        .replace("{}", &status.sysroot),
                )
            } else if status.booted_emulated {
                Some(
                    gettext("Showing the sysroot in {}, not the running system.")
                        .replace("{}", &status.sysroot),
                )
            } else {
                None
            };
            // Something waits for the next boot, and only a restart brings it.
            let restart = crate::capabilities::restart_to_use(status).map(|d| {
                let name =
                    format::system_name(&status.os_name, d.version.as_deref().unwrap_or_default());
                gettext("Restart to use {}").replace("{}", &name)
            });
            (demo, restart)
        });
        let Some((demo, restart)) = banners else {
            return;
        };
        for (banner, text) in [(&imp.demo_banner, demo), (&imp.restart_banner, restart)] {
            if let Some(text) = &text {
                banner.set_title(text);
            }
            banner.set_revealed(text.is_some());
        }
    }

    /// Logging out or suspending in the middle of an update would be a poor surprise.
    fn inhibit_while(&self, busy: bool) {
        let Some(app) = self.application() else {
            return;
        };
        let cookie = &self.imp().inhibit_cookie;
        if busy && cookie.borrow().is_none() {
            let id = app.inhibit(
                Some(self),
                gtk::ApplicationInhibitFlags::LOGOUT | gtk::ApplicationInhibitFlags::SUSPEND,
                Some(&gettext("The system is being changed")),
            );
            // 0: no session manager to ask (as under a bare X server).
            cookie.replace((id > 0).then_some(id));
        } else if !busy && let Some(id) = cookie.take() {
            app.uninhibit(id);
        }
    }

    /// The newest outcome replaces any toast still showing: after a quick run of operations, a
    /// queue of old news would trail behind for half a minute.
    fn toast(&self, text: &str) {
        let toast = adw::Toast::new(text);
        toast.set_priority(adw::ToastPriority::High);
        self.imp().toasts.add_toast(toast);
    }

    fn settings(&self) -> Option<&gio::Settings> {
        let imp = self.imp();
        if imp.settings.get().is_none() {
            let _ = imp.settings.set(settings()?);
        }
        imp.settings.get()
    }

    /// Checks for updates (of the OS and the apps) by itself when the person asked for it and the last check is older than
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
            if settings.boolean("check-updates-automatically") && due && !win.system().busy() {
                let _ = settings.set_int64("last-update-check", now);
                glib::spawn_future_local(
                    async move { win.system().check_all(win.upcast_ref()).await },
                );
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
}
