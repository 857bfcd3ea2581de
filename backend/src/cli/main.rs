//! `keel-backend`: performs tree operations for Keel, and for people and scripts at a terminal.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

mod apps;
mod print;

use clap::{Args, Parser, Subcommand};
use keel_api::i18n::{fill, gettext};
#[cfg(feature = "demo")]
use keel_backend::demo;
use keel_backend::driver::{self, Cancel, CleanupSet, SystemDriver, UpdateOutcome};
use keel_backend::progress::Phases;
use keel_backend::{Error, Result};
#[cfg(feature = "demo")]
use print::in_dir;
use print::{
    Terminal, described, freed_text, print_config_diff, print_diff, print_history, print_json,
    print_status, print_update,
};

#[derive(Parser)]
#[command(
    name = "keel-backend",
    version,
    about = "Keel's backend: see and steer an OSTree system"
)]
struct Cli {
    #[command(flatten)]
    target: Target,
    /// The Flatpak installations to show and change: host, demo, none, or a folder holding a
    /// user installation (default: the demo's for the demo, the computer's own for --system,
    /// none for another sysroot).
    #[arg(long, global = true, value_name = "WHICH")]
    flatpak_installations: Option<apps::Which>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
#[group(multiple = false)]
struct Target {
    /// Keel's demo system (created on first use).
    #[arg(long, global = true)]
    demo: bool,
    /// The OSTree sysroot at PATH.
    #[arg(long, global = true, value_name = "PATH")]
    sysroot: Option<PathBuf>,
    /// The running system.
    #[arg(long, global = true)]
    system: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Deployments in boot order, and the update waiting.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Ask the remote for a newer version (commit metadata only).
    Check,
    /// Download the newest version and deploy it to boot next.
    Update {
        #[arg(long)]
        download_only: bool,
    },
    /// Boot the rollback deployment (or the one given) next.
    Rollback {
        deployment: Option<String>,
    },
    /// Keep a deployment from ever being cleaned up.
    Pin {
        deployment: String,
    },
    Unpin {
        deployment: String,
    },
    /// Remove a deployment that is neither booted nor pinned.
    Remove {
        deployment: String,
    },
    /// Layer packages on the image.
    Install {
        #[arg(required = true)]
        packages: Vec<String>,
    },
    Uninstall {
        #[arg(required = true)]
        packages: Vec<String>,
    },
    /// Remove every layered package.
    ResetPackages,
    /// Packages the package source offers for layering.
    Packages {
        #[arg(long)]
        json: bool,
    },
    /// Every package of a deployment (index, id, booted, pending, rollback) or commit checksum,
    /// as `rpm-ostree db list` shows them.
    DbList {
        deployment: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove pending and/or rollback deployments and prune the repository.
    Cleanup {
        #[arg(long)]
        pending: bool,
        #[arg(long)]
        rollback: bool,
        #[arg(long)]
        repo: bool,
        /// Only say what would be removed and the space it would free.
        #[arg(long)]
        dry_run: bool,
    },
    /// Packages that differ between two deployments.
    Diff {
        from: String,
        to: String,
        #[arg(long)]
        json: bool,
    },
    /// A deployment's local changes to /etc.
    ConfigDiff {
        deployment: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Past operations.
    History {
        #[arg(long)]
        json: bool,
    },
    /// Restart into the next-boot deployment (simulated on the demo and test sysroots).
    Reboot,
    /// The Flatpak apps and runtimes.
    Apps {
        #[command(subcommand)]
        action: apps::AppsAction,
    },
    /// Check and update the system, then update every app and runtime with an update.
    UpdateAll,
    /// Serve the D-Bus API (io.github.keelapp.Keel.Backend1) for the UI.
    Serve {
        /// Connect to this bus address instead of the session bus.
        #[arg(long)]
        address: Option<String>,
        /// Exit after this many seconds with no client, call or transaction (0: never).
        #[arg(long, default_value_t = 60)]
        idle_timeout: u64,
        /// For tests: make every progress signal fail, as on a dropped connection.
        #[arg(long, hide = true)]
        test_fail_progress_signals: bool,
    },
    /// The bus name `serve` takes for this system (one backend per system).
    BusName,
    /// Create or extend the demo system (cargo feature `demo`).
    #[cfg(feature = "demo")]
    Demo {
        #[command(subcommand)]
        action: DemoAction,
        /// Where the demo lives (default: $XDG_DATA_HOME/keel/demo).
        #[arg(long, global = true)]
        dir: Option<PathBuf>,
    },
}

#[cfg(feature = "demo")]
#[derive(Subcommand)]
enum DemoAction {
    /// Create the demo system.
    Init {
        /// Without the demo's Flatpak apps (faster; for tests of the system side).
        #[arg(long)]
        without_apps: bool,
    },
    /// Publish a new version on the demo's remote.
    Publish,
    /// Delete the demo system.
    Remove,
}

fn main() -> ExitCode {
    // SAFETY: setlocale is unsafe only because it races with other threads using the locale; this is
    // the first thing the process does, before any thread exists.
    #[allow(unsafe_code)]
    unsafe {
        gettextrs::setlocale(gettextrs::LocaleCategory::LcAll, "");
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEEL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Some(warning) = keel_api::i18n::init() {
        tracing::warn!("{warning}");
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Translators: the command line’s prefix of an error sentence.
            eprintln!(
                "{}",
                fill(&gettext("error: {message}"), &[("message", err.message())])
            );
            ExitCode::from(exit_code(&err))
        }
    }
}

/// Distinct exit codes, so scripts can tell "no such deployment" from "busy" (see backend/README.md).
fn exit_code(err: &Error) -> u8 {
    match err {
        Error::Failed(_) => 1,
        Error::InvalidArgument(_) => 2,
        Error::NotFound(_) => 3,
        Error::Busy(_) => 4,
        Error::PermissionDenied(_) => 5,
        Error::Cancelled(_) => 6,
    }
}

/// The sysroot to work on, and whether it is the demo.
fn target_path(target: &Target) -> Result<(PathBuf, bool)> {
    if let Some(path) = &target.sysroot {
        return Ok((path.clone(), false));
    }
    let use_demo = target.demo || (!target.system && !PathBuf::from("/run/ostree-booted").exists());
    if !use_demo {
        return Ok((PathBuf::from("/"), false));
    }
    Ok((demo_sysroot()?, true))
}

#[cfg(feature = "demo")]
fn demo_sysroot() -> Result<PathBuf> {
    Ok(demo::sysroot_dir(&demo::default_dir()))
}

/// Built without the demo builder, there is no demo to show.
#[cfg(not(feature = "demo"))]
fn demo_sysroot() -> Result<PathBuf> {
    Err(Error::NotFound(gettext(
        "This keel-backend was built without Keel’s demo system (cargo feature `demo`); give --sysroot PATH, or --system on an OSTree system.",
    )))
}

/// Like [`target_path`], creating the demo on first use.
fn resolve_target(target: &Target) -> Result<(PathBuf, bool)> {
    let (path, is_demo) = target_path(target)?;
    #[cfg(feature = "demo")]
    if is_demo && !demo::exists(&demo::default_dir()) {
        let dir = demo::default_dir();
        eprintln!(
            "{}",
            in_dir(gettext("Creating the demo system in {dir} …"), &dir)
        );
        demo::init(&dir)?;
    }
    Ok((path, is_demo))
}

#[cfg(feature = "demo")]
fn run_demo(action: &DemoAction, dir: Option<PathBuf>) -> Result<()> {
    let dir = dir.unwrap_or_else(demo::default_dir);
    match action {
        DemoAction::Init { without_apps } => {
            if *without_apps {
                demo::init_without_apps(&dir)?;
            } else {
                demo::init(&dir)?;
            }
            println!(
                "{}",
                in_dir(gettext("Created the demo system in {dir}"), &dir)
            );
            Ok(())
        }
        DemoAction::Remove => {
            if !demo::exists(&dir) {
                return Err(Error::NotFound(in_dir(
                    gettext("There is no demo system in {dir}."),
                    &dir,
                )));
            }
            demo::remove_tree(&dir)?;
            println!(
                "{}",
                in_dir(gettext("Removed the demo system in {dir}"), &dir)
            );
            Ok(())
        }
        DemoAction::Publish => {
            let version = demo::publish(&dir)?;
            // Translators: {os} is the demo’s name ("Keel Demo OS"), {version} its new version.
            let published = gettext("Published {os} {version}");
            let os = demo::content::OS_NAME;
            println!("{}", fill(&published, &[("os", os), ("version", &version)]));
            if let Some(version) = demo::apps::publish(&dir)? {
                // Translators: {app} is a demo app’s name ("Notes"), {version} its new version.
                let published = gettext("Published {app} {version} on the demo’s Flatpak remote");
                println!(
                    "{}",
                    fill(&published, &[("app", "Notes"), ("version", &version)])
                );
            }
            Ok(())
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    #[cfg(feature = "demo")]
    if let Command::Demo { action, dir } = &cli.command {
        return run_demo(action, dir.clone());
    }
    if let Command::BusName = &cli.command {
        println!(
            "{}",
            keel_backend::dbus::bus_name(&target_path(&cli.target)?.0)
        );
        return Ok(());
    }
    if let Command::Serve {
        address,
        idle_timeout,
        test_fail_progress_signals,
    } = &cli.command
    {
        let (path, demo) = resolve_target(&cli.target)?;
        let installations = apps::installations(cli.flatpak_installations.clone(), &path, demo);
        return keel_backend::service::serve(
            driver::Target { path, demo },
            keel_backend::service::Options {
                address: address.clone(),
                idle_timeout: (*idle_timeout > 0)
                    .then(|| std::time::Duration::from_secs(*idle_timeout)),
                fail_progress_signals: *test_fail_progress_signals,
                installations,
            },
        );
    }
    let (path, demo) = resolve_target(&cli.target)?;
    let installations = apps::installations(cli.flatpak_installations.clone(), &path, demo);
    if let Command::Apps {
        action: apps::AppsAction::List { json },
    } = cli.command
    {
        // Listing reads the installations only: no system needed.
        return apps::list(installations.as_ref(), json);
    }
    let system = driver::open(&driver::Target { path, demo })?;
    match cli.command {
        Command::Apps { action } => apps::act(&*system, installations, action),
        Command::UpdateAll => apps::update_all(&*system, installations),
        command => act(&*system, command),
    }
}

/// Runs a command on the system: reads here, changes in [`change`].
fn act(system: &dyn SystemDriver, command: Command) -> Result<()> {
    match command {
        Command::Status { json } => show(json, &system.status()?, print_status),
        Command::Packages { json } => show(json, &system.available_packages()?, |packages| {
            for p in packages {
                println!("{:<16} {:<22} {}", p.name, p.evr, p.summary);
            }
        }),
        Command::DbList { deployment, json } => {
            show(json, &system.packages(&deployment)?, |packages| {
                for p in packages {
                    println!("{}", p.nevra());
                }
            })
        }
        Command::Diff { from, to, json } => show(json, &system.diff(&from, &to)?, print_diff),
        Command::ConfigDiff { deployment, json } => show(
            json,
            &system.config_diff(deployment.as_deref().unwrap_or("booted"))?,
            print_config_diff,
        ),
        Command::History { json } => show(json, &system.history()?, |h| print_history(h)),
        other => change(system, other)?,
    }
    Ok(())
}

/// Prints `value` as JSON, or as text for people.
fn show<T: serde::Serialize>(json: bool, value: &T, text: impl Fn(&T)) {
    if json {
        print_json(value);
    } else {
        text(value);
    }
}

/// Runs a command that changes the system.
fn change(system: &dyn SystemDriver, command: Command) -> Result<()> {
    let phases = Phases::new(Arc::new(Terminal::new()));
    // A terminal cancels with Ctrl+C, which ends the process; nothing else asks.
    let cancel = Cancel::default();
    match command {
        Command::Check => match system.check(&phases, &cancel)? {
            Some(update) => print_update(&update),
            None => println!("{}", gettext("No update available.")),
        },
        Command::Update { download_only } => {
            match system.update(download_only, &phases, &cancel)? {
                UpdateOutcome::UpToDate => println!("{}", gettext("No update available.")),
                UpdateOutcome::Downloaded { version } => {
                    // Translators: {version} is a version ("41.20261125.0"); keep `update`.
                    let done = gettext("Downloaded {version}; run `update` to deploy it.");
                    let version = version.unwrap_or_default();
                    println!("{}", fill(&done, &[("version", &version)]));
                }
                UpdateOutcome::Deployed { id, version } => {
                    // Translators: {version} is a version ("41.20261125.0"), {id} a deployment's.
                    let done = gettext("Deployed {version} ({id}); it boots next.");
                    let version = version.unwrap_or_default();
                    println!("{}", fill(&done, &[("version", &version), ("id", &id)]));
                }
            }
        }
        Command::Rollback { deployment } => {
            let id = deployment.map(|spec| id_of(system, &spec)).transpose()?;
            let d = system.rollback(id.as_deref(), &phases)?;
            println!("{}", described(gettext("{deployment} boots next."), &d));
        }
        Command::Pin { deployment } => {
            let d = system.set_pinned(&id_of(system, &deployment)?, true)?;
            println!("{}", described(gettext("Pinned {deployment}."), &d));
        }
        Command::Unpin { deployment } => {
            let d = system.set_pinned(&id_of(system, &deployment)?, false)?;
            println!("{}", described(gettext("Unpinned {deployment}."), &d));
        }
        Command::Remove { deployment } => {
            let freed = system.remove(&id_of(system, &deployment)?, &cancel)?;
            println!("{}", freed_text(gettext("Removed; freed {size}."), freed));
        }
        Command::Install { packages } => {
            system.install(&packages, &phases, &cancel)?;
            // Translators: {packages} is a list of package names.
            let done = gettext("Layered {packages}; it takes effect at the next boot.");
            println!("{}", fill(&done, &[("packages", &packages.join(", "))]));
        }
        Command::Uninstall { packages } => {
            system.uninstall(&packages, &phases, &cancel)?;
            // Translators: {packages} is a list of package names.
            let done = gettext("Removed {packages}; it takes effect at the next boot.");
            println!("{}", fill(&done, &[("packages", &packages.join(", "))]));
        }
        Command::ResetPackages => {
            system.reset_packages(&phases, &cancel)?;
            println!(
                "{}",
                gettext("All layered packages removed; this takes effect at the next boot.")
            );
        }
        Command::Cleanup {
            pending,
            rollback,
            repo,
            dry_run,
        } => cleanup(
            system,
            cleanup_set(pending, rollback, repo),
            dry_run,
            &cancel,
        )?,
        Command::Reboot => println!("{}", system.reboot()?.message()),
        Command::Status { .. }
        | Command::Packages { .. }
        | Command::Diff { .. }
        | Command::ConfigDiff { .. }
        | Command::DbList { .. }
        | Command::History { .. }
        | Command::Serve { .. }
        | Command::Apps { .. }
        | Command::UpdateAll
        | Command::BusName => {
            unreachable!("handled by act and run")
        }
        #[cfg(feature = "demo")]
        Command::Demo { .. } => unreachable!("handled by run"),
    }
    Ok(())
}

/// The id of a deployment given as a person does (an index, an id, booted, pending, rollback):
/// mutations name it by id, so it is the deployment the person saw even if the order changes.
fn id_of(system: &dyn SystemDriver, spec: &str) -> Result<String> {
    Ok(driver::resolve(&system.status()?, spec)?.id.clone())
}

/// The deployments and repository objects to clean up: those named, or all of them.
fn cleanup_set(pending: bool, rollback: bool, repo: bool) -> CleanupSet {
    let all = !(pending || rollback || repo);
    CleanupSet {
        pending: pending || all,
        rollback: rollback || all,
        repo: repo || all,
    }
}

fn cleanup(
    system: &dyn SystemDriver,
    what: CleanupSet,
    dry_run: bool,
    cancel: &Cancel,
) -> Result<()> {
    if dry_run {
        let estimate = system.cleanup_estimate(what)?;
        for id in &estimate.deployments {
            // Translators: a dry run of a cleanup; {id} is a deployment’s id.
            println!("{}", fill(&gettext("would remove {id}"), &[("id", id)]));
        }
        // Translators: a dry run of a cleanup.
        println!(
            "{}",
            freed_text(gettext("would free {size}"), estimate.bytes)
        );
        return Ok(());
    }
    let freed = system.cleanup(what, cancel)?;
    println!(
        "{}",
        freed_text(gettext("Cleaned up; freed {size}."), freed)
    );
    Ok(())
}
