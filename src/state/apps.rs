//! The installed Flatpaks in the system object: reading them from the backend (on AppsChanged,
//! and after each transaction that touches them) into the apps list model, and the counts the
//! pages show (updates waiting, unused runtimes). Methods of `KeelSystem`.

use std::cmp::Ordering;

use gtk::prelude::*;
use gtk::subclass::prelude::*;
use keel_api::Operation;
use keel_api::apps::{App, AppKind};

use super::KeelSystem;
use super::app::KeelApp;
use super::listdiff::Change;
use crate::client::Client;

/// Whether a transaction of this kind changes (or finds updates of) the installed Flatpaks.
pub fn touches_apps(op: Operation) -> bool {
    matches!(
        op,
        Operation::AppsCheck
            | Operation::AppsUpdate
            | Operation::AppsUninstall
            | Operation::AppsRemoveUnused
            | Operation::UpdateAll
    )
}

/// The order the Apps page lists them in: apps before runtimes, then by name as people read it,
/// then by key (the same app in two installations, or two branches of a runtime).
pub fn list_order(a: &App, b: &App) -> Ordering {
    let name = |app: &App| {
        if app.name.is_empty() {
            app.id.to_lowercase()
        } else {
            app.name.to_lowercase()
        }
    };
    (a.kind == AppKind::Runtime)
        .cmp(&(b.kind == AppKind::Runtime))
        .then_with(|| name(a).cmp(&name(b)))
        .then_with(|| a.key.cmp(&b.key))
}

impl KeelSystem {
    /// Follows AppsChanged from now on (before the first read, so no change is lost).
    pub(super) async fn watch_apps(&self, client: &Client) {
        let system = self.downgrade();
        client
            .watch_apps(move || {
                let Some(system) = system.upgrade() else {
                    return false;
                };
                gtk::glib::spawn_future_local(async move { system.refresh_apps().await });
                true
            })
            .await;
    }

    /// Reads the installed Flatpaks again; a burst of requests folds into one further read.
    pub async fn refresh_apps(&self) {
        let imp = self.imp();
        if imp.apps_refreshing.replace(true) {
            imp.apps_again.set(true);
            return;
        }
        loop {
            imp.apps_again.set(false);
            if let Some(client) = self.client() {
                match client.apps().await {
                    Ok(apps) => self.apply_apps(apps),
                    Err(err) => self.report(&err),
                }
            }
            if !imp.apps_again.get() {
                break;
            }
        }
        imp.apps_refreshing.set(false);
    }

    /// Takes a fresh list into the model: items keep their identity by key and take their new
    /// record in place; only new ones are spliced in.
    pub fn apply_apps(&self, mut apps: Vec<App>) {
        apps.sort_by(list_order);
        let store = self.apps();
        let current = |i: u32| store.item(i).and_downcast::<KeelApp>();
        let change = Change::between(store.n_items(), current, &apps, |item, app| {
            item.key() == app.key
        });
        if let Some(change) = &change {
            let items: Vec<KeelApp> = apps[change.added.clone()]
                .iter()
                .map(KeelApp::new)
                .collect();
            store.splice(change.position, change.removed, &items);
        }
        for (i, app) in apps.iter().enumerate() {
            if let Some(item) = current(i as u32) {
                item.update(app);
            }
        }
        let imp = self.imp();
        let updates = apps.iter().filter(|a| !a.update_commit.is_empty()).count() as u32;
        if imp.app_updates.replace(updates) != updates {
            self.notify_app_updates();
        }
        let unused: Vec<&App> = apps.iter().filter(|a| a.unused).collect();
        let size = unused.iter().map(|a| a.installed_size).sum();
        if imp.unused_size.replace(size) != size {
            self.notify_unused_size();
        }
        if imp.unused_runtimes.replace(unused.len() as u32) != unused.len() as u32 {
            self.notify_unused_runtimes();
        }
        if !imp.apps_loaded.replace(true) {
            self.notify_apps_loaded();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(key: &str, name: &str, kind: AppKind) -> App {
        App {
            key: key.into(),
            name: name.into(),
            id: key.rsplit(':').next().unwrap_or_default().into(),
            kind,
            ..Default::default()
        }
    }

    fn listed(system: &KeelSystem) -> Vec<(String, String)> {
        let store = system.apps();
        (0..store.n_items())
            .map(|i| store.item(i).and_downcast::<KeelApp>().unwrap())
            .map(|a| (a.key(), a.version()))
            .collect()
    }

    #[test]
    fn apps_come_before_runtimes_and_items_are_kept_by_key() {
        let system = KeelSystem::default();
        let runtime = app("user:runtime/org.test.Platform", "", AppKind::Runtime);
        let hello = app("user:app/org.test.Hello", "hello", AppKind::App);
        let writer = app("system:app/org.test.Writer", "Writer", AppKind::App);
        system.apply_apps(vec![runtime.clone(), writer.clone(), hello.clone()]);
        let keys: Vec<String> = listed(&system).into_iter().map(|(k, _)| k).collect();
        // By name whatever its case; runtimes last.
        assert_eq!(
            keys,
            [hello.key.clone(), writer.key.clone(), runtime.key.clone()]
        );
        assert!(system.apps_loaded());
        assert_eq!(system.app_updates(), 0);

        let first = system.apps().item(0).unwrap();
        let notified = std::rc::Rc::new(std::cell::Cell::new(0));
        let count = notified.clone();
        first
            .downcast_ref::<KeelApp>()
            .unwrap()
            .connect_version_notify(move |_| count.set(count.get() + 1));
        // An update of Hello waits, then arrives: the same item shows it.
        let waiting = App {
            update_commit: "abc".into(),
            ..hello.clone()
        };
        system.apply_apps(vec![runtime.clone(), writer.clone(), waiting]);
        assert_eq!(system.app_updates(), 1);
        let item = system.apps().item(0).and_downcast::<KeelApp>().unwrap();
        assert!(item.has_update());
        let updated = App {
            version: "2.0".into(),
            ..hello.clone()
        };
        system.apply_apps(vec![runtime.clone(), writer.clone(), updated]);
        assert_eq!(system.apps().item(0).unwrap(), first, "the item is kept");
        assert_eq!(notified.get(), 1);
        assert_eq!(system.app_updates(), 0);

        // Writer uninstalled, the runtime now unused: counted with its size.
        let unused = App {
            unused: true,
            installed_size: 3_000,
            ..runtime.clone()
        };
        system.apply_apps(vec![hello, unused]);
        assert_eq!(listed(&system).len(), 2);
        assert_eq!(system.unused_runtimes(), 1);
        assert_eq!(system.unused_size(), 3_000);
    }

    #[test]
    fn a_search_finds_names_ids_and_summaries() {
        let item = KeelApp::new(&App {
            key: "user:app/org.gnome.TextEditor/x86_64/stable".into(),
            id: "org.gnome.TextEditor".into(),
            name: "Text Editor".into(),
            summary: "Edit text files".into(),
            ..Default::default()
        });
        assert!(item.matches(""));
        assert!(item.matches("text ed"));
        assert!(item.matches("org.gnome"));
        assert!(item.matches("files"));
        assert!(!item.matches("writer"));
        // A nameless ref is listed by its id.
        let nameless = KeelApp::new(&App {
            key: "user:runtime/org.test.Platform".into(),
            id: "org.test.Platform".into(),
            ..Default::default()
        });
        assert_eq!(nameless.name(), "org.test.Platform");
    }
}
