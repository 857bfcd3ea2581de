//! Keel: see and steer an atomic (OSTree-based) Linux workstation.
//!
//! This crate is the UI process. It never touches a sysroot: everything it shows and does goes
//! through the `keel-backend` service (see DESIGN.md).

mod application;
#[cfg(feature = "bench")]
mod bench;
mod client;
mod config;
mod error;
mod feedback;
mod format;
mod pages;
mod state;
mod window;

use gtk::{gio, glib, prelude::*};

fn main() -> glib::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEEL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("keel=info")),
        )
        .with_writer(std::io::stderr)
        .init();

    // No setlocale here: GTK's own initialisation sets the locale from the environment.
    let locale_dir = config::locale_dir();
    if let Err(err) = gettextrs::bindtextdomain(config::GETTEXT_PACKAGE, &locale_dir) {
        tracing::warn!("translations unavailable from {locale_dir}: {err}");
    }
    // Both can fail only on out-of-memory inside libc; translations are then simply missing.
    let _ = gettextrs::bind_textdomain_codeset(config::GETTEXT_PACKAGE, "UTF-8");
    let _ = gettextrs::textdomain(config::GETTEXT_PACKAGE);

    gio::resources_register_include!("keel.gresource").expect("resources are compiled in");

    tracing::debug!("main");
    glib::set_application_name("Keel");
    application::KeelApplication::new().run()
}
