//! The installed Flatpaks: listed by reading the installations on disk (fast, and the same inside a
//! Flatpak sandbox with read-only access to them), changed through the `flatpak` command (through
//! `flatpak-spawn --host` inside a sandbox), so flatpak's own rules and polkit's authorisation apply.
//!
//! Called by the D-Bus service's Apps interface and the command line's `apps` commands.

mod appstream;
mod command;
pub mod deploy;
mod flatpak;
mod installations;
mod output;
mod read;
mod unused;

use ostree::glib;

pub use crate::driver::Cancel;
use crate::error::Result;
pub use flatpak::{Flatpak, flatpak_installed, flatpak_missing, in_sandbox};
pub use installations::{DEMO_FLATPAK, Installation, Installations, Stamp};
pub use keel_api::apps::{App, AppKind};

/// Every installed app and runtime of `installations`, read from disk (never by running flatpak):
/// apps first, by name, then runtimes. An entry that cannot be read is listed with `broken` saying
/// why; the rest still list.
pub fn list(installations: &Installations) -> Result<Vec<App>> {
    let locales: Vec<String> = glib::language_names()
        .iter()
        .map(|l| l.to_string())
        .filter(|l| l != "C")
        .collect();
    let mut entries: Vec<read::Installed> = installations
        .list()
        .iter()
        .flat_map(|installation| read::installation(installation, &locales))
        .collect();
    unused::mark(&mut entries);
    let mut apps: Vec<App> = entries.into_iter().map(|e| e.app).collect();
    apps.sort_by_cached_key(|a| {
        (
            a.kind == AppKind::Runtime,
            a.name.to_lowercase(),
            a.reference.clone(),
            a.installation.clone(),
        )
    });
    Ok(apps)
}
