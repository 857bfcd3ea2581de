//! Which Flatpak installations there are: the system's, the user's and the configured ones
//! (`installations.d`), or only the demo's, and what the `flatpak` command needs to see the same.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ostree::glib;

use super::in_sandbox;
use crate::error::Result;

/// One Flatpak installation: where it is and what flatpak calls it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installation {
    /// `system`, `user` or the name of an `installations.d` entry: the first half of an app's key.
    pub name: String,
    pub path: PathBuf,
}

impl Installation {
    /// How the `flatpak` command is told to act on this installation.
    pub fn scope_argument(&self) -> String {
        match self.name.as_str() {
            "system" => "--system".to_owned(),
            "user" => "--user".to_owned(),
            name => format!("--installation={name}"),
        }
    }
}

/// Which installations to read and change, and what the `flatpak` command needs to see the same
/// ones.
#[derive(Clone, Debug)]
pub struct Installations {
    system: Option<PathBuf>,
    user: PathBuf,
    /// The folder holding `installations.d`; None for the demo, which has only its own.
    config: Option<PathBuf>,
    /// The `flatpak` command gets FLATPAK_SYSTEM_DIR, FLATPAK_USER_DIR and FLATPAK_CONFIG_DIR
    /// naming exactly these folders (the demo's and tests' own installations); the host's are
    /// found by flatpak itself.
    own_env: bool,
}

impl Installations {
    /// The computer's own: the system installation (`$FLATPAK_SYSTEM_DIR` or /var/lib/flatpak), the
    /// user's (`$FLATPAK_USER_DIR` or ~/.local/share/flatpak) and those in
    /// /etc/flatpak/installations.d (`$FLATPAK_CONFIG_DIR`).
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
            own_env: false,
        }
    }

    /// Only the demo's installation, `DEMO/flatpak/user`; the person's own are never read or
    /// touched (the `flatpak` command is pointed at the demo's folders for everything).
    pub fn demo(demo_dir: &Path) -> Self {
        let root = demo_dir.join(DEMO_FLATPAK);
        Self {
            system: None,
            user: root.join("user"),
            config: None,
            own_env: true,
        }
    }

    /// Installations in folders of the caller's choosing, as FLATPAK_SYSTEM_DIR, FLATPAK_USER_DIR
    /// and FLATPAK_CONFIG_DIR would name them (tests, the benchmark); `flatpak` is run with those
    /// variables set.
    pub fn at(system: Option<&Path>, user: &Path, config: Option<&Path>) -> Self {
        Self {
            system: system.map(Path::to_owned),
            user: user.to_owned(),
            config: config.map(Path::to_owned),
            own_env: true,
        }
    }

    /// The installations to read, in order: system, user, then the configured ones (read again
    /// each time, so one added meanwhile shows). A configuration file that cannot be read is
    /// skipped with a warning in the log, as flatpak does.
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
        if let Some(config) = &self.config {
            for extra in configured(&config.join("installations.d")) {
                if !list.iter().any(|i| i.name == extra.name) && extra.name != "default" {
                    list.push(extra);
                }
            }
        }
        list
    }

    /// The installation called `name`.
    pub fn find(&self, name: &str) -> Option<Installation> {
        self.list().into_iter().find(|i| i.name == name)
    }

    /// Changes whenever an installation changes on disk: flatpak touches `.changed` in an
    /// installation after every change, and a new `installations.d` entry changes its folder.
    /// Cheap enough to poll.
    pub fn stamp(&self) -> Stamp {
        let mtime = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let mut times: Vec<Option<SystemTime>> = self
            .list()
            .iter()
            .map(|i| mtime(&i.path.join(".changed")))
            .collect();
        if let Some(config) = &self.config {
            times.push(mtime(&config.join("installations.d")));
        }
        Stamp(times)
    }

    /// Makes the empty folders [`Installations::command_env`] names for the demo's and tests'
    /// installations (flatpak wants its triggers folder to exist).
    pub(super) fn prepare(&self) -> Result<()> {
        if self.own_env {
            for (_, dir) in self
                .command_env()
                .iter()
                .filter(|(k, _)| *k == "FLATPAK_TRIGGERSDIR")
            {
                std::fs::create_dir_all(dir)?;
            }
        }
        Ok(())
    }

    /// The variables the `flatpak` command needs to see these installations.
    pub(crate) fn command_env(&self) -> Vec<(&'static str, OsString)> {
        if !self.own_env {
            return Vec::new();
        }
        // Nothing outside these folders: a missing system installation or configuration is an
        // empty folder of the demo's own, never the computer's.
        let root = self.user.parent().unwrap_or(&self.user).to_owned();
        let system = self.system.clone().unwrap_or_else(|| root.join("system"));
        let config = self.config.clone().unwrap_or_else(|| root.join("config"));
        vec![
            ("FLATPAK_USER_DIR", self.user.clone().into()),
            ("FLATPAK_SYSTEM_DIR", system.into()),
            ("FLATPAK_CONFIG_DIR", config.into()),
            // Triggers rebuild desktop and icon caches with bwrap; the demo's and tests'
            // installations are never on a desktop's search path, so they need none.
            ("FLATPAK_TRIGGERSDIR", root.join("triggers").into()),
        ]
    }
}

/// What [`Installations::stamp`] returns: equal stamps, nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp(Vec<Option<SystemTime>>);

/// Where the demo keeps its Flatpak remote and installation, inside the demo folder.
pub const DEMO_FLATPAK: &str = "flatpak";

/// The `[Installation "NAME"]` entries of the `*.conf` files in `dir`.
fn configured(dir: &Path) -> Vec<Installation> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf") && p.is_file())
        .collect();
    files.sort();
    let mut list = Vec::new();
    for file in files {
        let keyfile = glib::KeyFile::new();
        if let Err(err) = keyfile.load_from_file(&file, glib::KeyFileFlags::NONE) {
            tracing::warn!(
                "skipping Flatpak installation file {}: {err}",
                file.display()
            );
            continue;
        }
        for group in keyfile.groups().iter() {
            let group = group.as_str();
            let Some(name) = group
                .strip_prefix("Installation \"")
                .and_then(|rest| rest.strip_suffix('"'))
                .filter(|name| !name.is_empty() && !name.contains('/'))
            else {
                continue;
            };
            match keyfile.string(group, "Path") {
                Ok(path) => list.push(Installation {
                    name: name.to_owned(),
                    path: PathBuf::from(path.as_str()),
                }),
                Err(err) => tracing::warn!("Flatpak installation {name} has no Path: {err}"),
            }
        }
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_installations_are_read_as_flatpak_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("10-extra.conf"),
            "[Installation \"sdcard\"]\nPath=/media/sd/flatpak\nDisplayName=SD card\n\n\
             [Installation unquoted]\nPath=/nope\n\n[Installation \"nopath\"]\nDisplayName=x\n\n\
             [Installation \"two\"]\nPath=/srv/flatpak\n",
        )
        .unwrap();
        std::fs::write(d.join("20-broken.conf"), "not a keyfile [[[").unwrap();
        std::fs::write(d.join("readme.txt"), "[Installation \"txt\"]\nPath=/txt\n").unwrap();
        let found: Vec<(String, PathBuf)> = configured(d)
            .into_iter()
            .map(|i| (i.name, i.path))
            .collect();
        assert_eq!(
            found,
            [
                ("sdcard".to_owned(), PathBuf::from("/media/sd/flatpak")),
                ("two".to_owned(), PathBuf::from("/srv/flatpak")),
            ]
        );
        assert!(configured(&d.join("missing")).is_empty());

        // "system", "user" and "default" are flatpak's own names and stay theirs.
        std::fs::create_dir_all(d.join("config/installations.d")).unwrap();
        std::fs::write(
            d.join("config/installations.d/x.conf"),
            "[Installation \"user\"]\nPath=/evil\n[Installation \"default\"]\nPath=/evil\n",
        )
        .unwrap();
        let installations = Installations::at(
            Some(&d.join("sys")),
            &d.join("usr"),
            Some(&d.join("config")),
        );
        let list: Vec<(String, PathBuf)> = installations
            .list()
            .into_iter()
            .map(|i| (i.name, i.path))
            .collect();
        assert_eq!(
            list,
            [
                ("system".to_owned(), d.join("sys")),
                ("user".to_owned(), d.join("usr"))
            ]
        );
        assert_eq!(
            installations.find("user").unwrap().scope_argument(),
            "--user"
        );
        let extra = Installation {
            name: "sdcard".into(),
            path: "/x".into(),
        };
        assert_eq!(extra.scope_argument(), "--installation=sdcard");
    }
}
