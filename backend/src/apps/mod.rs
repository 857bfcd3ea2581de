//! The installed Flatpaks: listed by reading the installations on disk (fast, and the same inside a
//! Flatpak sandbox with read-only access to them), changed through the `flatpak` command (through
//! `flatpak-spawn --host` inside a sandbox), so flatpak's own rules and polkit's authorisation apply.
//!
//! Called by the D-Bus service's Apps interface and the command line's `apps` commands.

mod appstream;
mod command;
pub mod deploy;
mod output;
mod read;
mod unused;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ostree::glib;

pub use crate::driver::Cancel;
use std::collections::HashMap;

use keel_api::i18n::{fill, gettext, ngettext, plural_count};

use crate::error::{Error, Result};
use crate::progress::Phases;
use command::{Run, Wording};
pub use keel_api::apps::{App, AppKind};

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
    fn prepare(&self) -> Result<()> {
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

/// Runs the `flatpak` command on one set of installations.
#[derive(Clone, Debug)]
pub struct Flatpak {
    installations: Installations,
    /// Where to look for `flatpak` (and `flatpak-spawn`) instead of `$PATH`.
    search_path: Option<OsString>,
    /// Through `flatpak-spawn --host` (inside a sandbox).
    through_host: bool,
}

impl Flatpak {
    pub fn new(installations: Installations) -> Self {
        Self {
            installations,
            search_path: None,
            through_host: in_sandbox(),
        }
    }

    /// Looks for the commands in these folders (a `PATH`-style list) instead of `$PATH`.
    pub fn search_path(mut self, path: impl Into<OsString>) -> Self {
        self.search_path = Some(path.into());
        self
    }

    /// Runs flatpak through `flatpak-spawn --host` even outside a sandbox (or directly inside
    /// one); the default follows [`in_sandbox`].
    pub fn through_host(mut self, yes: bool) -> Self {
        self.through_host = yes;
        self
    }

    pub fn installations(&self) -> &Installations {
        &self.installations
    }

    /// Asks the remotes for updates and downloads them without deploying them (flatpak's own
    /// "download, then apply" pattern), so [`list`] shows each waiting update's commit. Returns a
    /// sentence saying how many there are.
    pub fn check(&self, phases: &Phases, cancel: &Cancel) -> Result<String> {
        let before = list(&self.installations)?;
        let runs: Vec<Run> = self
            .by_installation(&before, |_| true)
            .into_iter()
            .map(|(installation, refs)| Run {
                installation,
                args: strings(&["update", "--no-deploy", "-y"]),
                refs,
            })
            .collect();
        // Translators: a progress phase.
        let trackers = self.run_all(
            &runs,
            Wording::Download,
            &before,
            phases,
            &gettext("Checking for app updates"),
            cancel,
        )?;
        let after = list(&self.installations)?;
        let waiting = after.iter().filter(|a| a.has_update()).count() as u64;
        let mut sentence = if waiting == 0 {
            gettext("All apps are up to date.")
        } else {
            fill(
                &ngettext(
                    "{count} app update is available.",
                    "{count} app updates are available.",
                    plural_count(waiting),
                ),
                &[("count", &waiting.to_string())],
            )
        };
        let unreachable: Vec<&String> = trackers.iter().flat_map(|t| &t.unreachable).collect();
        if let Some(detail) = unreachable.first() {
            sentence.push(' ');
            sentence.push_str(&fill(
                // Translators: {detail} is flatpak’s reason (in English).
                &gettext("Some remotes could not be asked, so there may be more: {detail}"),
                &[("detail", detail)],
            ));
        }
        phases.done(&sentence);
        Ok(sentence)
    }

    /// Updates the apps and runtimes named by their keys; with none, everything flatpak finds an
    /// update for in each installation (it also refreshes the remotes first).
    pub fn update(&self, keys: &[String], phases: &Phases, cancel: &Cancel) -> Result<String> {
        let before = list(&self.installations)?;
        let runs: Vec<Run> = if keys.is_empty() {
            self.by_installation(&before, |_| true)
                .into_iter()
                .map(|(installation, _)| Run {
                    installation,
                    args: strings(&["update", "-y"]),
                    refs: Vec::new(),
                })
                .collect()
        } else {
            self.named(&before, keys)?
                .into_iter()
                .map(|(installation, refs)| Run {
                    installation,
                    args: strings(&["update", "-y"]),
                    refs,
                })
                .collect()
        };
        // Translators: a progress phase.
        self.run_all(
            &runs,
            Wording::Change,
            &before,
            phases,
            &gettext("Updating apps"),
            cancel,
        )?;
        let after = list(&self.installations)?;
        let updated = after
            .iter()
            .filter(|a| {
                before
                    .iter()
                    .any(|b| b.key == a.key && b.commit != a.commit)
            })
            .count() as u64;
        let sentence = if updated == 0 {
            gettext("Everything was already up to date.")
        } else {
            fill(
                &ngettext(
                    "Updated {count} app or runtime.",
                    "Updated {count} apps and runtimes.",
                    plural_count(updated),
                ),
                &[("count", &updated.to_string())],
            )
        };
        phases.done(&sentence);
        Ok(sentence)
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
        if keys.is_empty() {
            return Err(Error::InvalidArgument(gettext(
                "Name at least one app to uninstall.",
            )));
        }
        let before = list(&self.installations)?;
        let mut args = strings(&["uninstall", "-y"]);
        if delete_data {
            args.push("--delete-data".to_owned());
        }
        let runs: Vec<Run> = self
            .named(&before, keys)?
            .into_iter()
            .map(|(installation, refs)| Run {
                installation,
                args: args.clone(),
                refs,
            })
            .collect();
        // Translators: a progress phase.
        self.run_all(
            &runs,
            Wording::Change,
            &before,
            phases,
            &gettext("Uninstalling apps"),
            cancel,
        )?;
        let after = list(&self.installations)?;
        let gone: Vec<&App> = before
            .iter()
            .filter(|b| !after.iter().any(|a| a.key == b.key))
            .collect();
        let names = gone
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let sentence = if delete_data {
            // Translators: {names} lists the apps’ names.
            fill(
                &gettext("Uninstalled {names} and deleted their data."),
                &[("names", &names)],
            )
        } else {
            // Translators: {names} lists the apps’ names.
            fill(
                &gettext("Uninstalled {names}; their data was kept."),
                &[("names", &names)],
            )
        };
        phases.done(&sentence);
        Ok(sentence)
    }

    /// Uninstalls the runtimes no installed app needs any more (`flatpak uninstall --unused` in
    /// each installation that has some).
    pub fn remove_unused(&self, phases: &Phases, cancel: &Cancel) -> Result<String> {
        let before = list(&self.installations)?;
        let runs: Vec<Run> = self
            .by_installation(&before, |a| a.unused)
            .into_iter()
            .map(|(installation, _)| Run {
                installation,
                args: strings(&["uninstall", "--unused", "-y"]),
                refs: Vec::new(),
            })
            .collect();
        // Translators: a progress phase.
        self.run_all(
            &runs,
            Wording::Change,
            &before,
            phases,
            &gettext("Removing unused runtimes"),
            cancel,
        )?;
        let after = list(&self.installations)?;
        let gone: Vec<&App> = before
            .iter()
            .filter(|b| !after.iter().any(|a| a.key == b.key))
            .collect();
        let freed: u64 = gone.iter().map(|a| a.installed_size).sum();
        let sentence = if gone.is_empty() {
            gettext("No runtime was unused; nothing was removed.")
        } else {
            fill(
                &ngettext(
                    "Removed {count} unused runtime, freeing {size}.",
                    "Removed {count} unused runtimes, freeing {size}.",
                    plural_count(gone.len() as u64),
                ),
                &[
                    ("count", &gone.len().to_string()),
                    ("size", &crate::format::size(freed)),
                ],
            )
        };
        phases.done(&sentence);
        Ok(sentence)
    }

    /// The installations holding entries that `keep` selects, each with those entries' refs.
    fn by_installation(
        &self,
        apps: &[App],
        keep: impl Fn(&App) -> bool,
    ) -> Vec<(Installation, Vec<String>)> {
        self.installations
            .list()
            .into_iter()
            .filter_map(|installation| {
                let refs: Vec<String> = apps
                    .iter()
                    .filter(|a| {
                        a.installation == installation.name && a.broken.is_empty() && keep(a)
                    })
                    .map(|a| a.reference.clone())
                    .collect();
                (!refs.is_empty()).then_some((installation, refs))
            })
            .collect()
    }

    /// The refs named by `keys`, by installation; a key that names nothing installed is
    /// `NotFound` and nothing runs.
    fn named(&self, apps: &[App], keys: &[String]) -> Result<Vec<(Installation, Vec<String>)>> {
        let mut groups: Vec<(Installation, Vec<String>)> = Vec::new();
        for key in keys {
            let Some(app) = apps
                .iter()
                .find(|a| &a.key == key && !a.reference.is_empty())
            else {
                return Err(Error::NotFound(fill(
                    // Translators: {key} is what was asked for, e.g. "user:app/org.example.App/x86_64/stable".
                    &gettext(
                        "“{key}” is not an installed app or runtime; list them with `keel-backend apps list`.",
                    ),
                    &[("key", key)],
                )));
            };
            match groups.iter_mut().find(|(i, _)| i.name == app.installation) {
                Some((_, refs)) => refs.push(app.reference.clone()),
                None => {
                    let installation = self.installations.find(&app.installation).ok_or_else(|| {
                        Error::NotFound(fill(&gettext("“{key}” is not an installed app or runtime; list them with `keel-backend apps list`."), &[("key", key)]))
                    })?;
                    groups.push((installation, vec![app.reference.clone()]));
                }
            }
        }
        Ok(groups)
    }

    /// Runs each in turn, each with an equal share of the progress.
    fn run_all(
        &self,
        runs: &[Run],
        wording: Wording,
        apps: &[App],
        phases: &Phases,
        phase: &str,
        cancel: &Cancel,
    ) -> Result<Vec<output::Tracker>> {
        let names: HashMap<String, String> = apps
            .iter()
            .map(|a| (a.id.clone(), a.name.clone()))
            .collect();
        let share = 1.0 / runs.len().max(1) as f64;
        let mut trackers = Vec::new();
        for (index, run) in runs.iter().enumerate() {
            let slice = (index as f64 * share, (index + 1) as f64 * share);
            phases.at(slice.0, slice.1, 0.0, phase, "", (0, 0));
            let line = command::command_line(
                &self.installations,
                run,
                self.search_path.as_ref(),
                self.through_host,
            )?;
            self.installations.prepare()?;
            trackers.push(command::run(
                &line,
                &run.installation,
                wording,
                &names,
                (phases, slice, phase),
                cancel,
            )?);
        }
        Ok(trackers)
    }
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// Whether the `flatpak` command can be run here (directly, or on the host through
/// `flatpak-spawn` inside a sandbox).
pub fn flatpak_installed() -> bool {
    let name = if in_sandbox() {
        "flatpak-spawn"
    } else {
        "flatpak"
    };
    command::find_program(name, None).is_some()
}

/// The error for a computer without `flatpak`: a sentence saying what to do.
pub fn flatpak_missing() -> Error {
    command::not_installed()
}

/// Whether Keel runs inside a Flatpak sandbox (flatpak writes this file into every one).
pub fn in_sandbox() -> bool {
    Path::new("/.flatpak-info").exists()
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
