//! Keel: see and steer an atomic (OSTree-based) Linux workstation.
//!
//! This crate is the UI process. It never touches a sysroot: everything it shows and does goes
//! through the `keel-backend` service (see DESIGN.md).

mod application;
#[cfg(feature = "bench")]
mod bench;
mod capabilities;
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
    if let Some(warning) = keel_api::i18n::init() {
        tracing::warn!("{warning}");
    }

    gio::resources_register_include!("keel.gresource").expect("resources are compiled in");

    tracing::debug!("main");
    glib::set_application_name("Keel");
    application::KeelApplication::new().run()
}
