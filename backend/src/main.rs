//! `keel-backend`: performs tree operations for Keel, and for people and scripts at a terminal.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
#[cfg(feature = "demo")]
use keel_backend::demo;
use keel_backend::driver::{self, Cancel, CleanupSet, SystemDriver, UpdateOutcome};
use keel_backend::format;
use keel_backend::model::{ConfigDiff, Deployment, HistoryEntry, SystemStatus, Update};
use keel_backend::packages::PackageDiff;
use keel_backend::progress::{Phases, Progress, ProgressUpdate};
use keel_backend::{Error, Result};

#[derive(Parser)]
#[command(
    name = "keel-backend",
    version,
    about = "Keel's backend: see and steer an OSTree system"
)]
struct Cli {
    #[command(flatten)]
    target: Target,
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
    Init,
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
            eprintln!("error: {}", err.message());
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
    Err(Error::NotFound(
        "This keel-backend was built without Keel's demo system (cargo feature `demo`); give --sysroot PATH, or --system on an OSTree system.".to_owned(),
    ))
}

/// Like [`target_path`], creating the demo on first use.
fn resolve_target(target: &Target) -> Result<(PathBuf, bool)> {
    let (path, is_demo) = target_path(target)?;
    #[cfg(feature = "demo")]
    if is_demo && !demo::exists(&demo::default_dir()) {
        let dir = demo::default_dir();
        eprintln!("Creating the demo system in {} …", dir.display());
        demo::init(&dir)?;
    }
    Ok((path, is_demo))
}

fn open(target: &Target) -> Result<Box<dyn SystemDriver>> {
    let (path, demo) = resolve_target(target)?;
    driver::open(&driver::Target { path, demo })
}

#[cfg(feature = "demo")]
fn run_demo(action: &DemoAction, dir: Option<PathBuf>) -> Result<()> {
    let dir = dir.unwrap_or_else(demo::default_dir);
    match action {
        DemoAction::Init => {
            demo::init(&dir)?;
            println!("Created the demo system in {}", dir.display());
            Ok(())
        }
        DemoAction::Remove => {
            if !demo::exists(&dir) {
                return Err(Error::NotFound(format!(
                    "There is no demo system in {}.",
                    dir.display()
                )));
            }
            demo::remove_tree(&dir)?;
            println!("Removed the demo system in {}", dir.display());
            Ok(())
        }
        DemoAction::Publish => {
            let version = demo::publish(&dir)?;
            println!("Published {} {version}", demo::content::OS_NAME);
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
        return keel_backend::service::serve(
            driver::Target { path, demo },
            keel_backend::service::Options {
                address: address.clone(),
                idle_timeout: (*idle_timeout > 0)
                    .then(|| std::time::Duration::from_secs(*idle_timeout)),
                fail_progress_signals: *test_fail_progress_signals,
            },
        );
    }
    let system = open(&cli.target)?;
    act(&*system, cli.command)
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
            None => println!("No update available."),
        },
        Command::Update { download_only } => {
            match system.update(download_only, &phases, &cancel)? {
                UpdateOutcome::UpToDate => println!("No update available."),
                UpdateOutcome::Downloaded { version } => {
                    println!(
                        "Downloaded {}; run `update` to deploy it.",
                        version.unwrap_or_default()
                    )
                }
                UpdateOutcome::Deployed { id, version } => {
                    println!(
                        "Deployed {} ({id}); it boots next.",
                        version.unwrap_or_default()
                    )
                }
            }
        }
        Command::Rollback { deployment } => {
            let id = deployment.map(|spec| id_of(system, &spec)).transpose()?;
            let d = system.rollback(id.as_deref(), &phases)?;
            println!("{} boots next.", describe(&d));
        }
        Command::Pin { deployment } => {
            let d = system.set_pinned(&id_of(system, &deployment)?, true)?;
            println!("Pinned {}.", describe(&d));
        }
        Command::Unpin { deployment } => {
            let d = system.set_pinned(&id_of(system, &deployment)?, false)?;
            println!("Unpinned {}.", describe(&d));
        }
        Command::Remove { deployment } => {
            let freed = system.remove(&id_of(system, &deployment)?, &cancel)?;
            println!("Removed; freed {}.", format::size(freed));
        }
        Command::Install { packages } => {
            system.install(&packages, &phases, &cancel)?;
            println!(
                "Layered {}; it takes effect at the next boot.",
                packages.join(", ")
            );
        }
        Command::Uninstall { packages } => {
            system.uninstall(&packages, &phases, &cancel)?;
            println!(
                "Removed {}; it takes effect at the next boot.",
                packages.join(", ")
            );
        }
        Command::ResetPackages => {
            system.reset_packages(&phases, &cancel)?;
            println!("All layered packages removed; this takes effect at the next boot.");
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
            println!("would remove {id}");
        }
        println!("would free {}", format::size(estimate.bytes));
        return Ok(());
    }
    let freed = system.cleanup(what, cancel)?;
    println!("Cleaned up; freed {}.", format::size(freed));
    Ok(())
}

fn print_config_diff(diff: &ConfigDiff) {
    for (mark, files) in [
        ("M", &diff.modified),
        ("A", &diff.added),
        ("D", &diff.removed),
        ("?", &diff.unreadable),
    ] {
        for f in files {
            println!("{mark}    /etc/{f}");
        }
    }
    if !diff.unreadable.is_empty() {
        println!("? could not be compared (not readable here); run as root to compare them.");
    }
}

fn print_history(history: &[HistoryEntry]) {
    for e in history {
        let versions = match (&e.from_version, &e.to_version) {
            (Some(a), Some(b)) => format!(" {a} → {b}"),
            (Some(a), None) => format!(" on {a}"),
            _ => String::new(),
        };
        let result = if e.success { "ok" } else { "FAILED" };
        println!(
            "{}  {:<14} {result}{versions}: {}",
            format::iso_time(e.time),
            e.operation,
            e.message
        );
    }
}

fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("the model always serializes")
    );
}

fn describe(d: &Deployment) -> String {
    format!(
        "{} {}",
        d.version.as_deref().unwrap_or(d.short_checksum()),
        d.id
    )
}

/// Reads like `rpm-ostree status`: ● marks the booted deployment, the first one boots next.
fn print_status(status: &SystemStatus) {
    println!(
        "System: {}{}",
        status.os_name,
        if status.demo { " (Keel demo)" } else { "" }
    );
    println!("Sysroot: {}", status.sysroot);
    if status.booted_emulated {
        println!("Note: this sysroot is not running; its booted deployment is Keel's record.");
    }
    println!("Deployments:");
    for d in &status.deployments {
        let mark = if d.booted { "●" } else { " " };
        let mut role = Vec::new();
        if d.default {
            role.push("next boot");
        }
        if d.pending {
            role.push("pending");
        }
        if d.rollback {
            role.push("rollback");
        }
        if d.staged {
            role.push("staged");
        }
        let role = if role.is_empty() {
            String::new()
        } else {
            format!(" ({})", role.join(", "))
        };
        println!(
            "{mark} {}{role}",
            d.origin.as_deref().unwrap_or(&d.checksum)
        );
        let field = |name: &str, value: &str| println!("{name:>24}: {value}");
        field(
            "Version",
            &format!(
                "{} ({})",
                d.version.as_deref().unwrap_or("-"),
                format::iso_time(d.timestamp)
            ),
        );
        if let Some(base) = &d.base_checksum {
            field("BaseCommit", base);
        }
        field("Commit", &d.checksum);
        if !d.layered_packages.is_empty() {
            field("LayeredPackages", &d.layered_packages.join(" "));
        }
        let inactive: Vec<&str> = d
            .requested_packages
            .iter()
            .filter(|p| !d.layered_packages.contains(p))
            .map(String::as_str)
            .collect();
        if !inactive.is_empty() {
            field("InactiveRequests", &inactive.join(" "));
        }
        if d.pinned {
            field("Pinned", "yes");
        }
        println!();
    }
    if let Some(update) = &status.cached_update {
        print_update(update);
    }
}

fn print_update(update: &Update) {
    println!(
        "Available update: {} ({}), {}{}",
        update.version.as_deref().unwrap_or(&update.checksum),
        format::iso_time(update.timestamp),
        update.diff.summary(),
        if update.downloaded {
            ", downloaded"
        } else {
            ""
        }
    );
}

fn print_diff(diff: &PackageDiff) {
    for c in &diff.upgraded {
        println!("Upgraded:   {} {} → {}", c.name, c.old_evr, c.new_evr);
    }
    for c in &diff.downgraded {
        println!("Downgraded: {} {} → {}", c.name, c.old_evr, c.new_evr);
    }
    for p in &diff.added {
        println!("Added:      {}", p.nevra());
    }
    for p in &diff.removed {
        println!("Removed:    {}", p.nevra());
    }
    println!("{}", diff.summary());
}

/// Progress on a terminal: one line, redrawn; nothing when stderr is not a terminal.
struct Terminal {
    enabled: bool,
}

impl Terminal {
    fn new() -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
        }
    }
}

impl Progress for Terminal {
    fn report(&self, update: &ProgressUpdate) {
        if !self.enabled {
            return;
        }
        let filled = (update.fraction * 30.0).round() as usize;
        let bar = format!("{}{}", "#".repeat(filled), "-".repeat(30 - filled.min(30)));
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[K[{bar}] {:>3.0}% {}: {}",
            update.fraction * 100.0,
            update.phase,
            update.message
        );
        if update.fraction >= 1.0 {
            let _ = writeln!(err);
        }
        let _ = err.flush();
    }
}
