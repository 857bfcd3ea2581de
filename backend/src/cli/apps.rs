//! `keel-backend apps …` and `keel-backend update-all`: the Flatpak apps from a terminal, through
//! the same jobs the service runs (so they land in the same history).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use keel_api::i18n::gettext;
use keel_backend::Result;
use keel_backend::apps::{Flatpak, Installations};
use keel_backend::driver::{Cancel, SystemDriver};
use keel_backend::jobs::{self, AppsJob};
use keel_backend::progress::Phases;

use crate::print::{Terminal, print_apps, print_json};

#[derive(Subcommand)]
pub(crate) enum AppsAction {
    /// The installed apps and runtimes, and which have an update waiting.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Ask the remotes which apps and runtimes have updates.
    Check,
    /// Update the apps and runtimes given (a key as `apps list --json` gives it, a ref or an app
    /// id that names one installed entry), or every one with an update.
    Update { apps: Vec<String> },
    /// Uninstall apps or runtimes; their data in ~/.var/app is kept unless --delete-data.
    Uninstall {
        #[arg(required = true)]
        apps: Vec<String>,
        #[arg(long)]
        delete_data: bool,
    },
    /// Uninstall the runtimes no installed app uses.
    RemoveUnused,
}

/// Which Flatpak installations the apps commands and the service use (`--flatpak-installations`).
#[derive(Clone, Debug)]
pub(crate) enum Which {
    /// `host`: the computer's own: $FLATPAK_SYSTEM_DIR or /var/lib/flatpak, $FLATPAK_USER_DIR
    /// or ~/.local/share/flatpak, and those in /etc/flatpak/installations.d.
    Host,
    /// `demo`: only the demo's own installation (in the folder that holds the sysroot).
    Demo,
    /// `none`.
    None,
    /// A folder: a user installation there, flatpak run with FLATPAK_USER_DIR pointing at it.
    Dir(PathBuf),
}

impl std::str::FromStr for Which {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        Ok(match text {
            "host" => Which::Host,
            "demo" => Which::Demo,
            "none" => Which::None,
            dir => Which::Dir(PathBuf::from(dir)),
        })
    }
}

/// The installations for a system: those asked for, else the demo's for the demo, the
/// computer's own for the running system, none for any other sysroot (a test sysroot never
/// touches the person's apps unless told to).
pub(crate) fn installations(
    which: Option<Which>,
    sysroot: &Path,
    demo: bool,
) -> Option<Installations> {
    let which = which.unwrap_or(if demo {
        Which::Demo
    } else if sysroot == Path::new("/") {
        Which::Host
    } else {
        Which::None
    });
    match which {
        Which::Host => Some(Installations::host()),
        // The demo's folder holds its sysroot.
        Which::Demo => Some(Installations::demo(sysroot.parent().unwrap_or(sysroot))),
        Which::None => None,
        Which::Dir(dir) => Some(Installations::at(None, &dir, None)),
    }
}

/// Lists the apps: a read that needs no system driver.
pub(crate) fn list(installations: Option<&Installations>, json: bool) -> Result<()> {
    let apps = jobs::list(installations)?;
    if json {
        print_json(&apps);
    } else {
        print_apps(&apps);
    }
    Ok(())
}

/// Runs an apps command that changes something (or asks the remotes).
pub(crate) fn act(
    system: &dyn SystemDriver,
    installations: Option<Installations>,
    action: AppsAction,
) -> Result<()> {
    let job = match action {
        AppsAction::List { json } => return list(installations.as_ref(), json),
        AppsAction::Check => AppsJob::Check,
        AppsAction::Update { apps } => AppsJob::Update {
            keys: keys(installations.as_ref(), &apps)?,
        },
        AppsAction::Uninstall { apps, delete_data } => AppsJob::Uninstall {
            keys: keys(installations.as_ref(), &apps)?,
            delete_data,
        },
        AppsAction::RemoveUnused => AppsJob::RemoveUnused,
    };
    let check = job == AppsJob::Check;
    let flatpak = installations.map(Flatpak::new);
    let (phases, cancel) = terminal();
    println!(
        "{}",
        jobs::run_apps(system, flatpak.as_ref(), &job, &phases, &cancel)?
    );
    if check {
        let waiting: Vec<_> = jobs::list(flatpak.as_ref().map(Flatpak::installations))?
            .into_iter()
            .filter(|a| a.has_update())
            .collect();
        if !waiting.is_empty() {
            println!("{}", gettext("Updates:"));
            print_apps(&waiting);
        }
    }
    Ok(())
}

/// `update-all`: the system, then the apps, one progress line.
pub(crate) fn update_all(
    system: &dyn SystemDriver,
    installations: Option<Installations>,
) -> Result<()> {
    let (phases, cancel) = terminal();
    let flatpak = installations.map(Flatpak::new);
    println!(
        "{}",
        jobs::update_all(system, flatpak.as_ref(), &phases, &cancel)?
    );
    Ok(())
}

/// The keys of the entries a person named (a key, or a ref or app id naming one entry).
fn keys(installations: Option<&Installations>, specs: &[String]) -> Result<Vec<String>> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    jobs::resolve_keys(&jobs::list(installations)?, specs)
}

fn terminal() -> (Phases, Cancel) {
    // A terminal cancels with Ctrl+C, which ends the process; nothing else asks.
    (
        Phases::new(std::sync::Arc::new(Terminal::new())),
        Cancel::default(),
    )
}
