//! Changing the installed Flatpaks through the `flatpak` command: check, update, uninstall,
//! remove unused; each one a run per installation (see command.rs), with one progress figure and
//! a sentence saying what happened.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::Path;

use keel_api::i18n::{fill, gettext, ngettext, plural_count};

use super::command::{self, Run, Wording};
use super::{App, Cancel, Installation, Installations, list, output};
use crate::error::{Error, Result};
use crate::progress::Phases;

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
        let (trackers, after) = self.run_all(
            &runs,
            Wording::Download,
            &before,
            phases,
            // Translators: a progress phase.
            &gettext("Checking for app updates"),
            cancel,
        )?;
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
        let (_, after) = self.run_all(
            &runs,
            Wording::Change,
            &before,
            phases,
            // Translators: a progress phase.
            &gettext("Updating apps"),
            cancel,
        )?;
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
        let (_, after) = self.run_all(
            &runs,
            Wording::Change,
            &before,
            phases,
            // Translators: a progress phase.
            &gettext("Uninstalling apps"),
            cancel,
        )?;
        let gone = gone(&before, &after);
        let names = gone
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let sentence = if delete_data {
            fill(
                // Translators: {names} lists the apps’ names.
                &gettext("Uninstalled {names} and deleted their data."),
                &[("names", &names)],
            )
        } else {
            fill(
                // Translators: {names} lists the apps’ names.
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
        let (_, after) = self.run_all(
            &runs,
            Wording::Change,
            &before,
            phases,
            // Translators: a progress phase.
            &gettext("Removing unused runtimes"),
            cancel,
        )?;
        let gone = gone(&before, &after);
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

    /// Runs each in turn, each with an equal share of the progress; then lists the apps again.
    fn run_all(
        &self,
        runs: &[Run],
        wording: Wording,
        apps: &[App],
        phases: &Phases,
        phase: &str,
        cancel: &Cancel,
    ) -> Result<(Vec<output::Tracker>, Vec<App>)> {
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
        Ok((trackers, list(&self.installations)?))
    }
}

/// The entries of `before` that are not in `after`.
fn gone<'a>(before: &'a [App], after: &[App]) -> Vec<&'a App> {
    before
        .iter()
        .filter(|b| !after.iter().any(|a| a.key == b.key))
        .collect()
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
