//! The threads that do the service's work, each with a driver of its own: a reader that answers
//! queries at once and notices changes made by other programs, a slow reader for queries that may
//! download or walk the whole repository (so they never hold up a status), an apps reader that
//! lists the Flatpak installations and watches them (`apps_reader`), and a writer that runs one
//! mutation at a time — the system's, the apps' and Update All alike.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use crate::apps::{Flatpak, Installations};
pub use crate::driver::Target;
use crate::driver::{self, Cancel, CleanupSet, SystemDriver};
use crate::error::{Error, Result};
use crate::jobs::{self, AppsJob};
use crate::model::{
    AvailablePackage, CleanupEstimate, ConfigDiff, Deployment, HistoryEntry, SystemStatus,
};
use crate::packages::{Package, PackageDiff};
use crate::progress::{Phases, Progress, ProgressUpdate};
use keel_api::Operation;
use keel_api::apps::App;
use keel_api::i18n::{fill, gettext};

/// A mutation, as a client asked for it; two equal requests are the same transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Check,
    Update { download_only: bool },
    Rollback { target: String },
    Pin { deployment: String },
    Unpin { deployment: String },
    Remove { deployment: String },
    Install { packages: Vec<String> },
    Uninstall { packages: Vec<String> },
    ResetPackages,
    Cleanup(CleanupSet),
    Reboot,
    Apps(AppsJob),
    UpdateAll,
}

impl Request {
    /// The operation, as the history and the Transaction's Operation property give it.
    pub fn operation(&self) -> Operation {
        match self {
            Request::Check => Operation::Check,
            Request::Update {
                download_only: true,
            } => Operation::Download,
            Request::Update { .. } => Operation::Update,
            Request::Rollback { .. } => Operation::Rollback,
            Request::Pin { .. } => Operation::Pin,
            Request::Unpin { .. } => Operation::Unpin,
            Request::Remove { .. } => Operation::Remove,
            Request::Install { .. } => Operation::Install,
            Request::Uninstall { .. } => Operation::Uninstall,
            Request::ResetPackages => Operation::ResetPackages,
            Request::Cleanup(_) => Operation::Cleanup,
            Request::Reboot => Operation::Reboot,
            Request::Apps(job) => job.operation(),
            Request::UpdateAll => Operation::UpdateAll,
        }
    }
}

/// What the readers answer: the slow reader takes what may download or walk many files (see
/// [`Query::is_slow`]), the reader the rest, at once.
pub enum Query {
    Status,
    /// Walks the repository.
    CleanupEstimate(CleanupSet),
    Diff(String, String),
    /// Reads every file of a deployment's `/etc` and its defaults.
    ConfigDiff(String),
    History,
    /// May download the package source's index.
    Packages,
    /// Every package of one deployment or commit (cached by commit).
    DeploymentPackages(String),
    /// The installed Flatpak apps and runtimes (the apps reader answers it).
    Apps,
}

impl Query {
    /// Work that can take long (a download, a walk of the whole repository) goes to the slow
    /// reader, so it never holds up a status.
    fn is_slow(&self) -> bool {
        matches!(
            self,
            Query::Packages | Query::CleanupEstimate(_) | Query::ConfigDiff(_)
        )
    }
}

pub enum Answer {
    Status(Box<SystemStatus>),
    CleanupEstimate(CleanupEstimate),
    Diff(PackageDiff),
    ConfigDiff(ConfigDiff),
    History(Vec<HistoryEntry>),
    Packages(Vec<AvailablePackage>),
    DeploymentPackages(Vec<Package>),
    Apps(Vec<App>),
}

pub(super) struct QueryJob {
    pub(super) query: Query,
    pub(super) reply: async_channel::Sender<Result<Answer>>,
}

/// What another program changed, for the service to announce.
pub enum Changed {
    /// The sysroot (`StatusChanged`).
    System,
    /// A Flatpak installation (`AppsChanged`).
    Apps,
}

/// What a running mutation tells the service, in order: progress, then its end.
pub enum Event {
    Progress(ProgressUpdate),
    Done(Result<String>),
}

pub struct MutationJob {
    pub request: Request,
    pub cancel: Cancel,
    pub events: async_channel::Sender<Event>,
}

struct ChannelProgress(async_channel::Sender<Event>);

impl Progress for ChannelProgress {
    fn report(&self, update: &ProgressUpdate) {
        let _ = self.0.try_send(Event::Progress(update.clone()));
    }
}

/// Handles to the threads.
#[derive(Clone)]
pub struct Workers {
    queries: mpsc::Sender<QueryJob>,
    slow_queries: mpsc::Sender<QueryJob>,
    app_queries: mpsc::Sender<QueryJob>,
    mutations: mpsc::Sender<MutationJob>,
}

impl Workers {
    /// Starts the threads; `changed` hears of every change to the sysroot by anyone, and of
    /// every change to the Flatpak installations by another program.
    pub fn start(
        target: Target,
        installations: Option<Installations>,
        changed: async_channel::Sender<Changed>,
    ) -> Result<Self> {
        // Decided once: the workers open this kind whatever happens to the bus later. And
        // opened once here, so a bad sysroot fails the service's start, not its first call.
        let kind = driver::Kind::of(&target);
        driver::open_as(&target, kind)?;
        let (queries, query_rx) = mpsc::channel::<QueryJob>();
        let (slow_queries, slow_query_rx) = mpsc::channel::<QueryJob>();
        let (app_queries, app_query_rx) = mpsc::channel::<QueryJob>();
        let (mutations, mutation_rx) = mpsc::channel::<MutationJob>();
        let watch = super::apps::Watch::new(installations.clone());
        let reader_watch = watch.clone();
        let apps_changed = changed.clone();
        std::thread::Builder::new()
            .name("keel-apps-reader".to_owned())
            .spawn(move || super::apps::apps_reader(reader_watch, app_query_rx, apps_changed))?;
        let reader_target = target.clone();
        std::thread::Builder::new()
            .name("keel-reader".to_owned())
            .spawn(move || reader(reader_target, kind, query_rx, Some(changed)))?;
        let slow_target = target.clone();
        std::thread::Builder::new()
            .name("keel-slow-reader".to_owned())
            .spawn(move || reader(slow_target, kind, slow_query_rx, None))?;
        std::thread::Builder::new()
            .name("keel-writer".to_owned())
            .spawn(move || writer(target, kind, installations, watch, mutation_rx))?;
        Ok(Self {
            queries,
            slow_queries,
            app_queries,
            mutations,
        })
    }

    pub async fn ask(&self, query: Query) -> Result<Answer> {
        let (reply, answer) = async_channel::bounded(1);
        let reader = if matches!(query, Query::Apps) {
            &self.app_queries
        } else if query.is_slow() {
            &self.slow_queries
        } else {
            &self.queries
        };
        reader
            .send(QueryJob { query, reply })
            .map_err(|_| Error::Failed(gettext("The backend’s reader has stopped.")))?;
        answer
            .recv()
            .await
            .map_err(|_| Error::Failed(gettext("The backend’s reader has stopped.")))?
    }

    pub fn run(&self, job: MutationJob) -> Result<()> {
        self.mutations
            .send(job)
            .map_err(|_| Error::Failed(gettext("The backend’s writer has stopped.")))
    }
}

/// How often the readers look for changes made by other programs (a stat of the sysroot, of the
/// Flatpak installations).
pub(super) const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// Answers queries with a driver of its own. The reader (with `changed`) also watches for changes
/// by other programs; the slow reader takes the queries that may download or walk the repository.
/// The one download, the package source's index, is a commit-only pull, which libostree guards
/// with the repository's own lock, as it does a pull by another program.
fn reader(
    target: Target,
    kind: driver::Kind,
    jobs: mpsc::Receiver<QueryJob>,
    changed: Option<async_channel::Sender<Changed>>,
) {
    let mut system = Driver::open(target, kind, "reader");
    let interval = if changed.is_some() {
        WATCH_INTERVAL
    } else {
        Duration::MAX
    };
    let announce = |system: &dyn SystemDriver, reopened: bool| {
        // A change by another program noticed here is announced too, as the watch would; so is
        // whatever changed while the driver could not be opened.
        if let (Some(changed), Ok(true)) = (&changed, system.reload().map(|c| c || reopened)) {
            let _ = changed.send_blocking(Changed::System);
        }
    };
    loop {
        match jobs.recv_timeout(interval) {
            Ok(job) => {
                let answer = system.wait().and_then(|(system, reopened)| {
                    announce(system, reopened);
                    answer(system, job.query)
                });
                let _ = job.reply.send_blocking(answer);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Ok((system, reopened)) = system.get() {
                    announce(system, reopened);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn answer(system: &dyn SystemDriver, query: Query) -> Result<Answer> {
    match query {
        Query::Status => system.status().map(|s| Answer::Status(Box::new(s))),
        Query::Diff(a, b) => system.diff(&a, &b).map(Answer::Diff),
        Query::ConfigDiff(d) => system.config_diff(&d).map(Answer::ConfigDiff),
        Query::History => system.history().map(Answer::History),
        Query::CleanupEstimate(what) => system.cleanup_estimate(what).map(Answer::CleanupEstimate),
        Query::Packages => system.available_packages().map(Answer::Packages),
        Query::DeploymentPackages(d) => system.packages(&d).map(Answer::DeploymentPackages),
        Query::Apps => unreachable!("the apps reader answers it"),
    }
}

/// Runs every mutation, one at a time: the system's, the apps' (the `flatpak` command it starts
/// inherits its lower priority) and Update All, which needs the system's driver and the apps
/// together. The readers never wait for it, so a status or a list of apps answers while it works.
fn writer(
    target: Target,
    kind: driver::Kind,
    installations: Option<Installations>,
    watch: super::apps::Watch,
    jobs: mpsc::Receiver<MutationJob>,
) {
    // Updates are background work: at a lower CPU priority (inherited by libostree's threads and
    // the flatpak command) the desktop, and Keel's own window, stay smooth while one runs.
    if let Err(err) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10) {
        tracing::debug!("could not lower the writer's priority: {err}");
    }
    let mut system = Driver::open(target, kind, "writer");
    let flatpak = installations.map(Flatpak::new);
    for job in jobs {
        let system = match system.wait() {
            Ok((system, _)) => system,
            Err(err) => {
                let _ = job.events.send_blocking(Event::Done(Err(err)));
                continue;
            }
        };
        let _ = system.reload();
        let progress: Arc<dyn Progress> = Arc::new(ChannelProgress(job.events.clone()));
        let phases = Phases::new(progress.clone());
        let result = match &job.request {
            Request::Apps(apps) => {
                jobs::run_apps(system, flatpak.as_ref(), apps, &phases, &job.cancel)
            }
            Request::UpdateAll => jobs::update_all(system, flatpak.as_ref(), &phases, &job.cancel),
            request => perform(system, request, &phases, &job.cancel),
        };
        if job.request.operation().concerns_apps() {
            // The service announces this change itself; the watch need not again.
            watch.settle();
        }
        // Operations without phases of their own (pin, remove…) still end at 1, in the reader's
        // language; one that reported its end keeps its last words.
        if result.is_ok() && !phases.finished() {
            phases.done("");
        }
        let _ = job.events.send_blocking(Event::Done(result));
    }
}

/// How long a request waits for a driver that cannot be opened (rpm-ostreed restarting is off
/// the bus for a moment) before it fails with the reason.
const OPEN_PATIENCE: Duration = Duration::from_secs(5);

/// A worker's driver, opened again when it could not be: a worker never stops over a system
/// service that is away for a moment, and a request meanwhile gets the reason.
struct Driver {
    target: Target,
    kind: driver::Kind,
    role: &'static str,
    system: Option<Box<dyn SystemDriver>>,
}

impl Driver {
    fn open(target: Target, kind: driver::Kind, role: &'static str) -> Self {
        let mut driver = Self {
            target,
            kind,
            role,
            system: None,
        };
        let _ = driver.get();
        driver
    }

    /// The driver, and whether it was opened just now after it could not be.
    fn get(&mut self) -> Result<(&dyn SystemDriver, bool)> {
        let mut reopened = false;
        if self.system.is_none() {
            let system = driver::open_as(&self.target, self.kind).inspect_err(|err| {
                tracing::warn!("the {} cannot open the system: {err}", self.role);
            })?;
            self.system = Some(system);
            reopened = true;
        }
        Ok((self.system.as_deref().expect("opened above"), reopened))
    }

    /// As [`Driver::get`], trying again for a while.
    fn wait(&mut self) -> Result<(&dyn SystemDriver, bool)> {
        let deadline = std::time::Instant::now() + OPEN_PATIENCE;
        while self.system.is_none() {
            match self.get() {
                Ok(_) => break,
                Err(err) if std::time::Instant::now() >= deadline => return Err(err),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        self.get()
    }
}

/// Runs one mutation; on success, a sentence saying what was done.
fn perform(
    system: &dyn SystemDriver,
    request: &Request,
    phases: &Phases,
    cancel: &Cancel,
) -> Result<String> {
    let freed = |bytes: u64| {
        fill(
            // Translators: {size} is an amount of disk space, "1.5 GB".
            &gettext("Freed {size}."),
            &[("size", &crate::format::size(bytes))],
        )
    };
    let layered = |_| gettext("Packages changed; they take effect at the next boot.");
    let named =
        |template: String, d: &Deployment| fill(&template, &[("deployment", &driver::name(d))]);
    match request {
        Request::Check => system.check(phases, cancel).map(|u| match u {
            Some(u) => fill(
                // Translators: {version} is a version ("41.20261125.0") or a checksum.
                &gettext("{version} is available."),
                &[("version", &u.version.unwrap_or(u.checksum))],
            ),
            None => gettext("The system is up to date."),
        }),
        Request::Update { download_only } => system
            .update(*download_only, phases, cancel)
            .map(|o| o.message()),
        Request::Rollback { target } => {
            let target = (!target.is_empty()).then_some(target.as_str());
            system.rollback(target, phases).map(|d| {
                // Translators: {deployment} is a version ("41.20261125.0") or a checksum.
                named(gettext("{deployment} boots next."), &d)
            })
        }
        Request::Pin { deployment } => system.set_pinned(deployment, true).map(|d| {
            // Translators: {deployment} is a version ("41.20261125.0") or a checksum.
            named(gettext("{deployment} is pinned."), &d)
        }),
        Request::Unpin { deployment } => system.set_pinned(deployment, false).map(|d| {
            // Translators: {deployment} is a version ("41.20261125.0") or a checksum.
            named(gettext("{deployment} is no longer pinned."), &d)
        }),
        Request::Remove { deployment } => system.remove(deployment, cancel).map(freed),
        Request::Install { packages } => system.install(packages, phases, cancel).map(layered),
        Request::Uninstall { packages } => system.uninstall(packages, phases, cancel).map(layered),
        Request::ResetPackages => system.reset_packages(phases, cancel).map(layered),
        Request::Cleanup(what) => system.cleanup(*what, cancel).map(freed),
        Request::Reboot => system.reboot().map(|r| r.message()),
        Request::Apps(_) | Request::UpdateAll => unreachable!("the writer runs them with the apps"),
    }
}
