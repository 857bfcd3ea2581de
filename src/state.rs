//! `KeelSystem`: the system one window shows, as a GObject the pages bind to. It holds the backend
//! client, the last status, the list models (deployments, layered packages, history, installed
//! Flatpaks) and the
//! running transaction with its progress; it keeps them current from the backend's signals.
//!
//! Pages read it and ask it to run operations; they never hold state of their own about the
//! system. What the person should hear (a toast, an error) leaves through its `toast` and `error`
//! signals, which the window shows.

mod app;
mod apps;
mod deployment;
mod listdiff;
mod package;
mod transaction;

use std::cell::{Cell, OnceCell, RefCell};
use std::sync::OnceLock;
use std::time::Instant;

use gettextrs::gettext;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::{gio, glib};
use keel_api::model::{HistoryEntry, SystemStatus};
use zbus::zvariant::OwnedObjectPath;

pub use app::KeelApp;
pub use deployment::KeelDeployment;
use listdiff::Change;
pub use package::{KeelPackage, PackageState};

use crate::client::{Client, Connected};
use crate::error::UiError;

mod imp {
    use glib::subclass::Signal;

    use super::*;

    #[derive(Default, glib::Properties)]
    #[properties(wrapper_type = super::KeelSystem)]
    pub struct KeelSystem {
        pub client: RefCell<Option<Client>>,
        pub status: RefCell<Option<SystemStatus>>,
        pub deployments: OnceCell<gio::ListStore>,
        pub packages: OnceCell<gio::ListStore>,
        pub history: OnceCell<gio::ListStore>,
        /// The installed Flatpaks, apps then runtimes, each by name.
        pub apps: OnceCell<gio::ListStore>,
        pub running: RefCell<Option<OwnedObjectPath>>,
        /// The operating system's name, as every deployment's title starts.
        #[property(get)]
        pub os_name: RefCell<String>,
        /// A transaction runs (or Keel waits to start one): mutations are off meanwhile.
        #[property(get)]
        pub busy: Cell<bool>,
        /// Roll Back has a deployment to boot (the backend's `rollback_target`).
        #[property(get)]
        pub can_roll_back: Cell<bool>,
        /// The driver can layer packages here (the remote offers a package source).
        #[property(get)]
        pub can_layer: Cell<bool>,
        /// The driver can remove deployments and prune the repository.
        #[property(get)]
        pub can_cleanup: Cell<bool>,
        /// The next boot has layered packages.
        #[property(get)]
        pub has_layered: Cell<bool>,
        /// The backend could not be reached.
        #[property(get)]
        pub unavailable: Cell<bool>,
        /// What the running transaction does, as the API spells it (`check`, `update`, …); empty
        /// when none runs. [`KeelSystem::running`] reads it typed.
        #[property(get)]
        pub running_operation: RefCell<String>,
        #[property(get)]
        pub progress_fraction: Cell<f64>,
        #[property(get)]
        pub progress_text: RefCell<String>,
        /// Apps and runtimes with an update waiting on their remote.
        #[property(get)]
        pub app_updates: Cell<u32>,
        /// Runtimes no installed app uses, and the space they take.
        #[property(get)]
        pub unused_runtimes: Cell<u32>,
        #[property(get)]
        pub unused_size: Cell<u64>,
        /// The installed Flatpaks have been read at least once.
        #[property(get)]
        pub apps_loaded: Cell<bool>,
        pub apps_refreshing: Cell<bool>,
        pub apps_again: Cell<bool>,
        /// A refresh is under way; `refresh_again` asks it to read once more when done.
        pub refreshing: Cell<bool>,
        pub refresh_again: Cell<bool>,
        /// The status's history mark when the history was last read.
        pub history_mark: Cell<Option<u64>>,
        /// Cancel was pressed while waiting for another program to release the system.
        pub wait_cancelled: Cell<bool>,
        /// This window waits for another transaction (which it follows, but must never cancel).
        pub waiting: Cell<bool>,
        /// The phase the progress text shows, and when that text last changed.
        pub progress_phase: RefCell<String>,
        pub progress_text_at: Cell<Option<Instant>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelSystem {
        const NAME: &'static str = "KeelSystem";
        type Type = super::KeelSystem;
    }

    #[glib::derived_properties]
    impl ObjectImpl for KeelSystem {
        fn constructed(&self) {
            self.parent_constructed();
            let _ = self
                .deployments
                .set(gio::ListStore::new::<KeelDeployment>());
            let _ = self.packages.set(gio::ListStore::new::<KeelPackage>());
            let _ = self
                .history
                .set(gio::ListStore::new::<glib::BoxedAnyObject>());
            let _ = self.apps.set(gio::ListStore::new::<KeelApp>());
        }

        fn signals() -> &'static [Signal] {
            static SIGNALS: OnceLock<Vec<Signal>> = OnceLock::new();
            SIGNALS.get_or_init(|| {
                vec![
                    // A new status was read (the models are current when it is emitted).
                    Signal::builder("status-changed").build(),
                    Signal::builder("toast")
                        .param_types([String::static_type()])
                        .build(),
                    Signal::builder("error")
                        .param_types([UiError::static_type()])
                        .build(),
                ]
            })
        }
    }
}

glib::wrapper! {
    pub struct KeelSystem(ObjectSubclass<imp::KeelSystem>);
}

impl Default for KeelSystem {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl KeelSystem {
    pub fn deployments(&self) -> gio::ListStore {
        self.imp().deployments.get().expect("constructed").clone()
    }

    pub fn packages(&self) -> gio::ListStore {
        self.imp().packages.get().expect("constructed").clone()
    }

    pub fn history(&self) -> gio::ListStore {
        self.imp().history.get().expect("constructed").clone()
    }

    pub fn apps(&self) -> gio::ListStore {
        self.imp().apps.get().expect("constructed").clone()
    }

    pub fn client(&self) -> Option<Client> {
        self.imp().client.borrow().clone()
    }

    /// What the running transaction does; None when none runs.
    pub fn running(&self) -> Option<keel_api::Operation> {
        self.running_operation().parse().ok()
    }

    /// Reads the last status (None before the first).
    pub fn with_status<R>(&self, read: impl FnOnce(&SystemStatus) -> R) -> Option<R> {
        self.imp().status.borrow().as_ref().map(read)
    }

    pub fn connect_status_changed(&self, f: impl Fn(&Self) + 'static) -> glib::SignalHandlerId {
        self.connect_closure(
            "status-changed",
            false,
            glib::closure_local!(move |system: &Self| f(system)),
        )
    }

    pub fn connect_toast(&self, f: impl Fn(&Self, &str) + 'static) -> glib::SignalHandlerId {
        self.connect_closure(
            "toast",
            false,
            glib::closure_local!(move |system: &Self, text: &str| f(system, text)),
        )
    }

    pub fn connect_error(&self, f: impl Fn(&Self, &UiError) + 'static) -> glib::SignalHandlerId {
        self.connect_closure(
            "error",
            false,
            glib::closure_local!(move |system: &Self, err: &UiError| f(system, err)),
        )
    }

    /// A short notice for the person (the window shows it as a toast).
    pub fn toast(&self, text: &str) {
        self.emit_by_name::<()>("toast", &[&text]);
    }

    /// Something went wrong; a cancellation is no error and is not reported.
    pub fn report(&self, err: &UiError) {
        if !err.is_cancelled() {
            self.emit_by_name::<()>("error", &[err]);
        }
    }

    fn set_bool(&self, cell: &Cell<bool>, value: bool, name: &str) {
        if cell.replace(value) != value {
            self.notify(name);
        }
    }

    fn set_string(&self, cell: &RefCell<String>, value: &str, name: &str) {
        if *cell.borrow() != value {
            cell.replace(value.to_owned());
            self.notify(name);
        }
    }

    /// Takes the connection started for this system, shows what it read, then follows changes
    /// and any transaction already running.
    pub async fn start(&self, pending: async_channel::Receiver<Result<Connected, UiError>>) {
        let connected = pending.recv().await.unwrap_or_else(|_| {
            Err(UiError::new(
                gettext("Keel cannot reach its backend"),
                gettext("Connecting stopped unexpectedly."),
            ))
        });
        let Connected { client, status } = match connected {
            Ok(connected) => connected,
            Err(err) => {
                self.set_bool(&self.imp().unavailable, true, "unavailable");
                self.report(&err);
                return;
            }
        };
        tracing::debug!("backend registered");
        self.imp().client.replace(Some(client.clone()));
        if let Some(status) = status {
            self.apply_status(status);
        }
        // Listening starts before the read below: a change made in between is not lost, and
        // changes keep arriving while a running transaction is followed.
        let system = self.downgrade();
        client
            .watch(move || {
                let Some(system) = system.upgrade() else {
                    return false; // its window is gone
                };
                glib::spawn_future_local(async move { system.refresh().await });
                true
            })
            .await;
        self.watch_apps(&client).await;
        self.refresh().await;
        tracing::debug!("status shown");
        self.refresh_apps().await;
        // A transaction started earlier (by another window or before a restart of Keel).
        if let Some(path) = client.active_transaction().await {
            self.follow(path).await;
        }
    }

    /// Reads the system again. Requests that arrive while one runs (a burst of change signals) are
    /// folded into a single further read.
    pub async fn refresh(&self) {
        let imp = self.imp();
        if imp.refreshing.replace(true) {
            imp.refresh_again.set(true);
            return;
        }
        loop {
            imp.refresh_again.set(false);
            #[cfg(feature = "bench")]
            let started = Instant::now();
            self.read_system().await;
            #[cfg(feature = "bench")]
            crate::bench::report_duration("refresh-ms", started.elapsed());
            if !imp.refresh_again.get() {
                break;
            }
        }
        imp.refreshing.set(false);
    }

    async fn read_system(&self) {
        let Some(client) = self.client() else { return };
        #[cfg(feature = "bench")]
        let asked = Instant::now();
        // Both asked at once: the history's answer does not wait for the status's.
        let (status, history) = futures_util::future::join(client.status(), client.history()).await;
        let mut mark = None;
        match status {
            Ok(status) => {
                #[cfg(feature = "bench")]
                crate::bench::report_duration("status-ms", asked.elapsed());
                #[cfg(feature = "bench")]
                let applying = Instant::now();
                mark = Some(status.history_mark);
                self.apply_status(status);
                #[cfg(feature = "bench")]
                crate::bench::report_duration("apply-ms", applying.elapsed());
            }
            Err(err) => self.report(&err),
        }
        // Entries are compared only when the backend says the history changed.
        let imp = self.imp();
        if let Ok(history) = history
            && (mark.is_none() || mark != imp.history_mark.get())
        {
            #[cfg(feature = "bench")]
            let applying = Instant::now();
            self.apply_history(history.into_iter().rev().collect());
            imp.history_mark.set(mark);
            #[cfg(feature = "bench")]
            crate::bench::report_duration("history-apply-ms", applying.elapsed());
        }
    }

    /// Newest first. Entries never change, so only new ones are spliced in.
    fn apply_history(&self, entries: Vec<HistoryEntry>) {
        let store = self.history();
        let current = |i: u32| {
            store
                .item(i)
                .and_downcast::<glib::BoxedAnyObject>()
                .map(|b| b.borrow::<HistoryEntry>().clone())
        };
        if let Some(change) = Change::between(store.n_items(), current, &entries, |a, b| a == b) {
            let added: Vec<glib::BoxedAnyObject> = entries[change.added.clone()]
                .iter()
                .cloned()
                .map(glib::BoxedAnyObject::new)
                .collect();
            store.splice(change.position, change.removed, &added);
        }
    }

    /// Takes a fresh status into the models. Items still there are updated in place (their rows
    /// follow their properties); only new ones are spliced in, so a burst of changes costs little
    /// and a focused row keeps its focus.
    pub fn apply_status(&self, status: SystemStatus) {
        let imp = self.imp();
        // Rows read the OS name from here, so it is set before the models change.
        self.set_string(&imp.os_name, &status.os_name, "os-name");

        let store = self.deployments();
        let current = |i: u32| store.item(i).and_downcast::<KeelDeployment>();
        let change = Change::between(store.n_items(), current, &status.deployments, |item, d| {
            item.id() == d.id
        });
        if let Some(change) = &change {
            let items: Vec<KeelDeployment> = status.deployments[change.added.clone()]
                .iter()
                .map(KeelDeployment::new)
                .collect();
            store.splice(change.position, change.removed, &items);
        }
        for (i, d) in status.deployments.iter().enumerate() {
            if let Some(item) = current(i as u32) {
                item.update(d);
            }
        }

        self.apply_packages(&status);
        self.set_bool(
            &imp.can_roll_back,
            status.rollback_target.is_some(),
            "can-roll-back",
        );
        let capabilities = &status.capabilities;
        self.set_bool(&imp.can_layer, capabilities.can_layer, "can-layer");
        self.set_bool(&imp.can_cleanup, capabilities.can_cleanup, "can-cleanup");
        let layered = status
            .deployments
            .first()
            .is_some_and(|d| !d.requested_packages.is_empty());
        self.set_bool(&imp.has_layered, layered, "has-layered");
        self.set_bool(&imp.unavailable, false, "unavailable");
        imp.status.replace(Some(status));
        self.emit_by_name::<()>("status-changed", &[]);
    }

    /// The packages the next boot asks for, then those only the booted deployment still has;
    /// each item keeps its identity by name and takes its new state in place.
    fn apply_packages(&self, status: &SystemStatus) {
        let requested: &[String] = status
            .deployments
            .first()
            .map_or(&[], |d| &d.requested_packages);
        let booted: &[String] = status.booted().map_or(&[], |d| &d.layered_packages);
        let mut wanted: Vec<(String, PackageState)> = requested
            .iter()
            .map(|name| (name.clone(), PackageState::of(booted.contains(name), true)))
            .collect();
        for name in booted.iter().filter(|n| !requested.contains(n)) {
            wanted.push((name.clone(), PackageState::Removed));
        }
        let store = self.packages();
        let current = |i: u32| store.item(i).and_downcast::<KeelPackage>();
        if let Some(change) = Change::between(store.n_items(), current, &wanted, |item, (n, _)| {
            item.name() == *n
        }) {
            let items: Vec<KeelPackage> = wanted[change.added.clone()]
                .iter()
                .map(|(name, state)| KeelPackage::new(name, *state))
                .collect();
            store.splice(change.position, change.removed, &items);
        }
        for (i, (_, state)) in wanted.iter().enumerate() {
            if let Some(item) = current(i as u32) {
                item.update(*state);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use keel_api::model::Deployment;

    use super::*;

    fn deployment(id: &str, booted: bool, requested: &[&str], layered: &[&str]) -> Deployment {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        Deployment {
            id: id.into(),
            booted,
            version: Some("41.2".into()),
            requested_packages: names(requested),
            layered_packages: names(layered),
            ..Default::default()
        }
    }

    fn packages(system: &KeelSystem) -> Vec<(KeelPackage, PackageState)> {
        let store = system.packages();
        (0..store.n_items())
            .map(|i| store.item(i).and_downcast::<KeelPackage>().unwrap())
            .map(|p| {
                let state = p.state();
                (p, state)
            })
            .collect()
    }

    #[test]
    fn a_package_item_follows_its_state_through_the_restart() {
        let system = KeelSystem::default();
        // htop asked for: it arrives with the next boot.
        system.apply_status(SystemStatus {
            deployments: vec![
                deployment("new", false, &["htop"], &["htop"]),
                deployment("old", true, &[], &[]),
            ],
            ..Default::default()
        });
        let before = packages(&system);
        assert_eq!(before.len(), 1);
        assert_eq!(before[0].0.name(), "htop");
        assert_eq!(before[0].1, PackageState::Added);
        let notified = std::rc::Rc::new(Cell::new(0));
        let count = notified.clone();
        before[0]
            .0
            .connect_state_notify(move |_| count.set(count.get() + 1));

        // After the restart the same name is layered: the same item says so.
        system.apply_status(SystemStatus {
            deployments: vec![
                deployment("new", true, &["htop"], &["htop"]),
                deployment("old", false, &[], &[]),
            ],
            ..Default::default()
        });
        let after = packages(&system);
        assert_eq!(after[0].0, before[0].0, "the item is kept");
        assert_eq!(after[0].1, PackageState::Layered);
        assert_eq!(notified.get(), 1);

        // No longer asked for: it stays listed until the next boot removes it.
        system.apply_status(SystemStatus {
            deployments: vec![deployment("newer", false, &[], &[]), {
                deployment("new", true, &["htop"], &["htop"])
            }],
            ..Default::default()
        });
        assert_eq!(packages(&system)[0].1, PackageState::Removed);
    }

    #[test]
    fn deployments_are_kept_by_id_and_updated_in_place() {
        let system = KeelSystem::default();
        system.apply_status(SystemStatus {
            os_name: "Keel Demo OS".into(),
            deployments: vec![deployment("a", true, &[], &[])],
            ..Default::default()
        });
        let first = system.deployments().item(0).unwrap();
        let mut pinned = deployment("a", true, &[], &[]);
        pinned.pinned = true;
        system.apply_status(SystemStatus {
            deployments: vec![deployment("b", false, &[], &[]), pinned],
            rollback_target: Some("a".into()),
            ..Default::default()
        });
        let store = system.deployments();
        assert_eq!(store.n_items(), 2);
        assert_eq!(store.item(1).unwrap(), first);
        assert!(first.downcast_ref::<KeelDeployment>().unwrap().pinned());
        assert!(system.can_roll_back());
        assert_eq!(system.os_name(), "");
        // Two deployments but nothing Roll Back would boot (the backend says so): no Roll Back.
        system.apply_status(SystemStatus {
            deployments: vec![
                deployment("b", false, &[], &[]),
                deployment("a", true, &[], &[]),
            ],
            rollback_target: None,
            ..Default::default()
        });
        assert!(!system.can_roll_back());
    }
}
