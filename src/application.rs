//! The application object: app-wide actions, accelerators and the About dialog.

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::{gio, glib};

use crate::client::{Client, Connected, Target};
use crate::config;
use crate::error::UiError;
use crate::window::KeelWindow;

mod imp {
    use std::cell::RefCell;

    use super::*;

    #[derive(Default)]
    pub struct KeelApplication {
        pub target: RefCell<Option<Target>>,
        /// The connection to the backend, started in the primary instance before GTK starts (see
        /// `handle_local_options`), until the first window takes it.
        #[allow(clippy::type_complexity)]
        pub connection:
            RefCell<Option<(Target, async_channel::Receiver<Result<Connected, UiError>>)>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelApplication {
        const NAME: &'static str = "KeelApplication";
        type Type = super::KeelApplication;
        type ParentType = adw::Application;
    }

    impl ObjectImpl for KeelApplication {
        fn constructed(&self) {
            self.parent_constructed();
            let app = self.obj();
            app.add_main_option(
                "demo",
                glib::Char::from(b'd'),
                glib::OptionFlags::NONE,
                glib::OptionArg::None,
                &gettext("Show Keel’s demo system"),
                None,
            );
            app.add_main_option(
                "sysroot",
                glib::Char::from(b's'),
                glib::OptionFlags::NONE,
                glib::OptionArg::Filename,
                &gettext("Show the OSTree sysroot at PATH"),
                Some("PATH"),
            );
        }
    }

    impl ApplicationImpl for KeelApplication {
        fn handle_local_options(
            &self,
            options: &glib::VariantDict,
        ) -> std::ops::ControlFlow<glib::ExitCode> {
            let target = if let Some(path) = options
                .lookup::<std::path::PathBuf>("sysroot")
                .ok()
                .flatten()
            {
                Some(Target::Sysroot(path))
            } else if options.contains("demo") {
                Some(Target::Demo)
            } else {
                None
            };
            let mut chosen = target.clone().unwrap_or_else(Target::default_for_host);
            if let Target::Sysroot(path) = &chosen {
                // The Keel already running may have another working directory.
                chosen =
                    Target::Sysroot(std::path::absolute(path).unwrap_or_else(|_| path.clone()));
            }
            self.target.replace(target.map(|_| chosen.clone()));
            let app = self.obj();
            if app.register(gio::Cancellable::NONE).is_ok() && app.is_remote() {
                // Keel is running already: it shows this system, in a window of its own. This
                // process only hands the request over, and never talks to a backend.
                app.activate_action("show-system", Some(&chosen.to_arg().to_variant()));
                return std::ops::ControlFlow::Break(glib::ExitCode::SUCCESS);
            }
            // The primary instance: connecting starts now, on its own thread, while GTK starts up.
            let pending = Client::connect_in_background(&chosen);
            self.connection.replace(Some((chosen.clone(), pending)));
            // Go on with the default handling (activate).
            std::ops::ControlFlow::Continue(())
        }

        fn activate(&self) {
            let app = self.obj();
            let target = self
                .target
                .borrow()
                .clone()
                .unwrap_or_else(Target::default_for_host);
            let window = app
                .active_window()
                .unwrap_or_else(|| KeelWindow::new(&app, target).upcast());
            window.present();
        }

        fn startup(&self) {
            self.parent_startup();
            let app = self.obj();
            app.setup_actions();
        }
    }

    impl GtkApplicationImpl for KeelApplication {}
    impl AdwApplicationImpl for KeelApplication {}
}

glib::wrapper! {
    pub struct KeelApplication(ObjectSubclass<imp::KeelApplication>)
        @extends adw::Application, gtk::Application, gio::Application,
        @implements gio::ActionGroup, gio::ActionMap;
}

impl KeelApplication {
    pub fn new() -> Self {
        glib::Object::builder()
            .property("application-id", config::APP_ID)
            .property("resource-base-path", config::RESOURCE_BASE)
            .build()
    }

    fn setup_actions(&self) {
        let quit = gio::ActionEntry::builder("quit")
            .activate(|app: &Self, _, _| app.quit())
            .build();
        let about = gio::ActionEntry::builder("about")
            .activate(|app: &Self, _, _| app.show_about())
            .build();
        let preferences = gio::ActionEntry::builder("preferences")
            .activate(|app: &Self, _, _| app.show_preferences())
            .build();
        let show_system = gio::ActionEntry::builder("show-system")
            .parameter_type(Some(glib::VariantTy::STRING))
            .activate(|app: &Self, _, parameter| {
                let target = parameter
                    .and_then(|p| p.get::<String>())
                    .and_then(|arg| Target::from_arg(&arg));
                if let Some(target) = target {
                    app.show_system(target);
                }
            })
            .build();
        self.add_action_entries([quit, about, preferences, show_system]);
        self.set_accels_for_action("app.quit", &["<Control>q"]);
        self.set_accels_for_action("app.preferences", &["<Control>comma"]);
        self.set_accels_for_action(crate::window::Action::Refresh.name(), &["<Control>r", "F5"]);
        self.set_accels_for_action("window.close", &["<Control>w"]);
    }

    /// The connection started at launch, when it was started for `target`.
    pub fn take_connection(
        &self,
        target: &Target,
    ) -> Option<async_channel::Receiver<Result<Connected, UiError>>> {
        self.imp()
            .connection
            .take()
            .filter(|(started_for, _)| started_for == target)
            .map(|(_, pending)| pending)
    }

    /// Raises the window showing `target`, or opens one: each system has a window of its own.
    fn show_system(&self, target: Target) {
        let existing = self
            .windows()
            .into_iter()
            .filter_map(|w| w.downcast::<KeelWindow>().ok())
            .find(|w| w.target() == Some(&target));
        match existing {
            Some(window) => window.present(),
            None => KeelWindow::new(self, target).present(),
        }
    }

    fn show_preferences(&self) {
        let Some(settings) = crate::window::settings() else {
            return;
        };
        let dialog = adw::PreferencesDialog::new();
        let page = adw::PreferencesPage::new();
        let group = adw::PreferencesGroup::builder()
            .title(gettext("Updates"))
            .build();
        let auto = adw::SwitchRow::builder()
            .title(gettext("Check for Updates Automatically"))
            .subtitle(gettext(
                "Only the list of changes is downloaded; nothing is installed",
            ))
            .build();
        settings
            .bind("check-updates-automatically", &auto, "active")
            .build();
        let hours = adw::SpinRow::with_range(1.0, 168.0, 1.0);
        hours.set_title(&gettext("Hours Between Checks"));
        settings
            .bind("check-updates-interval", &hours, "value")
            .build();
        auto.bind_property("active", &hours, "sensitive")
            .sync_create()
            .build();
        group.add(&auto);
        group.add(&hours);
        page.add(&group);
        dialog.add(&page);
        dialog.present(self.active_window().as_ref());
    }

    fn show_about(&self) {
        let about = adw::AboutDialog::builder()
            .application_name("Keel")
            .application_icon(config::APP_ID)
            .developer_name(gettext("The Keel developers"))
            .version(config::VERSION)
            .website("https://github.com/keelapp/keel")
            .issue_url("https://github.com/keelapp/keel/issues")
            .license_type(gtk::License::Gpl30)
            // Translators: replace with your names, one per line, to be credited in the About dialog.
            .translator_credits(gettext("translator-credits"))
            .build();
        about.present(self.active_window().as_ref());
    }
}

impl Default for KeelApplication {
    fn default() -> Self {
        Self::new()
    }
}
