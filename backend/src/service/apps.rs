//! `io.github.keelapp.Keel.Apps1`: the installed Flatpak apps and runtimes, beside `Backend1` on
//! the same object. Its mutations are transactions of the same kind, under the same rule of one
//! mutation at a time across both interfaces; the apps reader lists the installations and watches
//! them for changes made by other programs (a `flatpak install` in a terminal).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::SystemTime;

use zbus::object_server::SignalEmitter;
use zbus::zvariant::{OwnedObjectPath, OwnedValue};
use zbus::{Connection, interface};

use super::worker::{Answer, Changed, Query, QueryJob, Request, WATCH_INTERVAL};
use super::{Backend, Result, bool_options, invalid};
use crate::apps::{Installations, Stamp};
use crate::dbus::AppRecord;
use crate::jobs::AppsJob;
use keel_api::apps::App;
use keel_api::i18n::{fill, gettext};

/// The interface's object: the service's own state, shared with `Backend1`.
pub(super) struct Apps {
    pub(super) backend: Backend,
}

impl Apps {
    async fn list(&self) -> Result<Vec<App>> {
        match self.backend.query(Query::Apps).await? {
            Answer::Apps(apps) => Ok(apps),
            _ => unreachable!("the apps reader answers what it is asked"),
        }
    }

    /// Mutations name entries by key; one that names none is refused at once, before anything
    /// starts.
    async fn require_installed(&self, keys: &[String]) -> Result<()> {
        let apps = self.list().await?;
        match keys.iter().find(|k| !apps.iter().any(|a| &a.key == *k)) {
            None => Ok(()),
            Some(key) => Err(crate::Error::NotFound(fill(
                // Translators: {key} is what a program sent; ListApps is a D-Bus method's name.
                &gettext(
                    "Nothing installed has the key “{key}”; give keys as ListApps lists them.",
                ),
                &[("key", key)],
            ))
            .into()),
        }
    }
}

#[interface(name = "io.github.keelapp.Keel.Apps1")]
impl Apps {
    /// Every installed app and runtime (see data/dbus/README.md for the keys).
    #[zbus(out_args("apps"))]
    async fn list_apps(&self) -> Result<Vec<AppRecord>> {
        Ok(self.list().await?.into_iter().map(Into::into).collect())
    }

    /// Asks the remotes which installed apps and runtimes have updates (`update-commit`).
    #[zbus(out_args("transaction"))]
    async fn check_apps(
        &self,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        self.backend
            .start(Request::Apps(AppsJob::Check), server, conn)
            .await
    }

    /// `keys`: entries as ListApps gives them; none = every app and runtime with an update.
    #[zbus(out_args("transaction"))]
    async fn update_apps(
        &self,
        keys: Vec<String>,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        self.require_installed(&keys).await?;
        self.backend
            .start(Request::Apps(AppsJob::Update { keys }), server, conn)
            .await
    }

    /// Options: `delete-data` (b): also delete the apps' data in ~/.var/app (kept by default).
    #[zbus(out_args("transaction"))]
    async fn uninstall_apps(
        &self,
        keys: Vec<String>,
        options: HashMap<String, OwnedValue>,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        let options = bool_options(&options, &["delete-data"])?;
        if keys.is_empty() {
            return Err(invalid(gettext(
                "Name at least one app or runtime to uninstall.",
            )));
        }
        self.require_installed(&keys).await?;
        let job = AppsJob::Uninstall {
            keys,
            delete_data: options.get("delete-data").copied().unwrap_or(false),
        };
        self.backend.start(Request::Apps(job), server, conn).await
    }

    /// Uninstalls the runtimes no installed app uses (`unused` in ListApps).
    #[zbus(out_args("transaction"))]
    async fn remove_unused_apps(
        &self,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath> {
        self.backend
            .start(Request::Apps(AppsJob::RemoveUnused), server, conn)
            .await
    }

    /// The installations changed (an apps transaction here, or another program): read
    /// ListApps again.
    #[zbus(signal)]
    pub(super) async fn apps_changed(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
}

/// What the watch compares: the installations' stamp (their `.changed` files, which flatpak
/// touches at every deploy and uninstall and libflatpak's own monitor watches), and the remote
/// refs their repositories hold (a pull without a deploy, `flatpak update --no-deploy`, moves only
/// these: an update that now waits).
type Signature = Option<(Stamp, Vec<(PathBuf, Option<SystemTime>)>)>;

/// Notices changes to the installations, shared by the apps reader (which announces them) and the
/// writer (which settles it after its own changes, which the service announces itself).
#[derive(Clone)]
pub(super) struct Watch {
    installations: Option<Installations>,
    seen: Arc<Mutex<Signature>>,
}

impl Watch {
    pub(super) fn new(installations: Option<Installations>) -> Self {
        let seen = Arc::new(Mutex::new(signature(&installations)));
        Self {
            installations,
            seen,
        }
    }

    /// True when an installation changed since the last look.
    fn changed(&self) -> bool {
        let now = signature(&self.installations);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let changed = *seen != now;
        *seen = now;
        changed
    }

    /// Takes the installations as they are now as seen.
    pub(super) fn settle(&self) {
        let now = signature(&self.installations);
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = now;
    }
}

fn signature(installations: &Option<Installations>) -> Signature {
    let installations = installations.as_ref()?;
    let mut refs = Vec::new();
    for installation in installations.list() {
        walk(&installation.path.join("repo/refs/remotes"), &mut refs);
    }
    Some((installations.stamp(), refs))
}

/// Every file below `dir` with its modification time, in a stable order.
fn walk(dir: &Path, out: &mut Vec<(PathBuf, Option<SystemTime>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, out);
        } else {
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            out.push((path, modified));
        }
    }
}

/// Lists the installations when asked, and between questions looks for changes by other programs
/// (a stat of a few files, twice a second). A thread of its own: a list of hundreds of apps never
/// holds up a status, and a slow status never holds up the list.
pub(super) fn apps_reader(
    watch: Watch,
    jobs: mpsc::Receiver<QueryJob>,
    changed: async_channel::Sender<Changed>,
) {
    loop {
        match jobs.recv_timeout(WATCH_INTERVAL) {
            Ok(job) => {
                if watch.changed() {
                    let _ = changed.send_blocking(Changed::Apps);
                }
                let answer = match job.query {
                    Query::Apps => {
                        crate::jobs::list(watch.installations.as_ref()).map(Answer::Apps)
                    }
                    _ => unreachable!("only apps queries come here"),
                };
                let _ = job.reply.send_blocking(answer);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if watch.changed() {
                    let _ = changed.send_blocking(Changed::Apps);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}
