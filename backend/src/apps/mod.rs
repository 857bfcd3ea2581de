//! The installed Flatpaks: listed by reading the installations on disk (fast, and the same inside a
//! Flatpak sandbox with read-only access to them), changed through the `flatpak` command (through
//! `flatpak-spawn --host` inside a sandbox), so flatpak's own rules and polkit's authorisation apply.
//!
//! Called by the D-Bus service's Apps interface and the command line's `apps` commands.

use std::path::{Path, PathBuf};

use crate::driver::Cancel;
use crate::error::{Error, Result};
use crate::progress::Phases;
pub use keel_api::apps::{App, AppKind};

/// One Flatpak installation: where it is and what flatpak calls it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installation {
    /// `system`, `user` or the name of an `installations.d` entry: the first half of an app's key.
    pub name: String,
    pub path: PathBuf,
}

/// Which installations to read and change, and the environment the `flatpak` command needs to see
/// the same ones.
#[derive(Clone, Debug)]
pub struct Installations {
    system: Option<PathBuf>,
    user: PathBuf,
    /// Holds `installations.d`; None for the demo, which has only its own installation.
    config: Option<PathBuf>,
    /// Variables the `flatpak` command gets (empty on the host: it finds the same ones itself).
    env: Vec<(String, PathBuf)>,
}

impl Installations {
    /// The computer's own: the system installation (`$FLATPAK_SYSTEM_DIR` or /var/lib/flatpak), the
    /// user's (`$FLATPAK_USER_DIR` or ~/.local/share/flatpak) and those in
    /// /etc/flatpak/installations.d.
    pub fn host() -> Self {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let home = var("HOME").unwrap_or_else(|| PathBuf::from("/"));
        // Inside a sandbox XDG_DATA_HOME is the app's own folder; the user's Flatpaks stay in the
        // home folder, and the host's /etc is under /run/host.
        let (data_home, etc) = if in_sandbox() {
            (
                home.join(".local/share"),
                PathBuf::from("/run/host/etc/flatpak"),
            )
        } else {
            (
                var("XDG_DATA_HOME").unwrap_or_else(|| home.join(".local/share")),
                PathBuf::from("/etc/flatpak"),
            )
        };
        Self {
            system: Some(
                var("FLATPAK_SYSTEM_DIR").unwrap_or_else(|| PathBuf::from("/var/lib/flatpak")),
            ),
            user: var("FLATPAK_USER_DIR").unwrap_or_else(|| data_home.join("flatpak")),
            config: Some(var("FLATPAK_CONFIG_DIR").unwrap_or(etc)),
            env: Vec::new(),
        }
    }

    /// Only the demo's installation, inside `demo_dir`; the person's own are never read or touched.
    pub fn demo(demo_dir: &Path) -> Self {
        let user = demo_dir.join("flatpak/user");
        Self {
            system: None,
            user,
            config: None,
            env: Vec::new(),
        }
    }

    /// The installations to read, in order: system, user, then the configured ones.
    pub fn list(&self) -> Vec<Installation> {
        let mut list = Vec::new();
        if let Some(system) = &self.system {
            list.push(Installation {
                name: "system".to_owned(),
                path: system.clone(),
            });
        }
        list.push(Installation {
            name: "user".to_owned(),
            path: self.user.clone(),
        });
        let _ = (&self.config, &self.env);
        list
    }
}

/// Every installed app and runtime of `installations`, read from disk (never by running flatpak).
/// An entry that cannot be read is listed with `broken` saying why; the rest still list.
pub fn list(installations: &Installations) -> Result<Vec<App>> {
    let _ = installations;
    Err(not_yet())
}

/// Runs the `flatpak` command on one set of installations.
#[derive(Clone, Debug)]
pub struct Flatpak {
    installations: Installations,
}

impl Flatpak {
    pub fn new(installations: Installations) -> Self {
        Self { installations }
    }

    pub fn installations(&self) -> &Installations {
        &self.installations
    }

    /// Asks the remotes for updates and downloads them (without deploying), so [`list`] shows each
    /// waiting update's commit. Returns a sentence saying how many there are.
    pub fn check(&self, phases: &Phases, cancel: &Cancel) -> Result<String> {
        let _ = (phases, cancel);
        Err(not_yet())
    }

    /// Updates the apps and runtimes named by their keys; with none, everything with an update.
    pub fn update(&self, keys: &[String], phases: &Phases, cancel: &Cancel) -> Result<String> {
        let _ = (keys, phases, cancel);
        Err(not_yet())
    }

    /// Uninstalls the refs named by their keys; their data in ~/.var/app is kept unless
    /// `delete_data`.
    pub fn uninstall(
        &self,
        keys: &[String],
        delete_data: bool,
        phases: &Phases,
        cancel: &Cancel,
    ) -> Result<String> {
        let _ = (keys, delete_data, phases, cancel);
        Err(not_yet())
    }

    /// Uninstalls the runtimes no installed app needs any more.
    pub fn remove_unused(&self, phases: &Phases, cancel: &Cancel) -> Result<String> {
        let _ = (phases, cancel);
        Err(not_yet())
    }
}

/// Whether Keel runs inside a Flatpak sandbox (flatpak writes this file into every one).
pub fn in_sandbox() -> bool {
    Path::new("/.flatpak-info").exists()
}

fn not_yet() -> Error {
    Error::Failed("The Apps backend is not finished yet.".to_owned())
}
