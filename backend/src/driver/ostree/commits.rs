//! What Keel reads from commits, cached by checksum. A commit never changes, so each is parsed once
//! per driver: its package list (about 2,000 entries on Fedora) is what made every status slow.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use ostree::glib;

use super::pkglist::{PKGLIST_KEY, pkglist_from_variant};
use super::{CLIENT_LAYER_KEY, LAYERED_PACKAGES_KEY};
use crate::error::Result;
use crate::packages::{Package, PackageDiff};

/// What Keel reads from a commit.
pub(super) struct CommitInfo {
    pub version: Option<String>,
    pub timestamp: u64,
    pub parent: Option<String>,
    /// `rpmostree.rpmdb.pkglist`: every package in the commit.
    pub packages: Vec<Package>,
    pub client_layer: bool,
    /// `rpmostree.packages`: what a client layer added.
    pub layered: Vec<String>,
}

impl CommitInfo {
    pub fn load(repo: &ostree::Repo, checksum: &str) -> Result<Self> {
        let variant = repo.load_variant(ostree::ObjectType::Commit, checksum)?;
        Ok(Self::from_variant(&variant))
    }

    pub fn from_variant(commit: &glib::Variant) -> Self {
        let meta = glib::VariantDict::new(Some(&commit.child_value(0)));
        let lookup = |key: &str| meta.lookup_value(key, None);
        Self {
            version: lookup("version").and_then(|v| v.get::<String>()),
            timestamp: ostree::commit_get_timestamp(commit),
            parent: ostree::commit_get_parent(commit).map(|p| p.to_string()),
            packages: lookup(PKGLIST_KEY)
                .and_then(|v| pkglist_from_variant(&v).ok())
                .unwrap_or_default(),
            client_layer: lookup(CLIENT_LAYER_KEY)
                .and_then(|v| v.get::<bool>())
                .unwrap_or(false),
            layered: lookup(LAYERED_PACKAGES_KEY)
                .and_then(|v| v.get::<Vec<String>>())
                .unwrap_or_default(),
        }
    }
}

/// Parsed commits by checksum. Bounded, because a service that runs for weeks meets a new commit
/// with every update; when full it starts again (the deployments' few commits return at once).
#[derive(Default)]
pub(super) struct CommitCache {
    commits: RefCell<Lru<Arc<CommitInfo>>>,
    /// The last diff worked out: every status asks again for the waiting update's changes.
    last_diff: RefCell<Option<(DiffKey, PackageDiff)>>,
}

/// Values by key; when full, the one used longest ago makes room (a system with many layered
/// deployments needs more commits than fit, and clearing all would re-read every list).
struct Lru<T> {
    entries: HashMap<String, (T, u64)>,
    clock: u64,
}

impl<T> Default for Lru<T> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            clock: 0,
        }
    }
}

impl<T: Clone> Lru<T> {
    fn get(&mut self, key: &str) -> Option<T> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(key).map(|(value, used)| {
            *used = clock;
            value.clone()
        })
    }

    fn insert(&mut self, key: String, value: T, capacity: usize) {
        if self.entries.len() >= capacity
            && let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
        {
            self.entries.remove(&oldest);
        }
        self.clock += 1;
        self.entries.insert(key, (value, self.clock));
    }
}

/// (from, packages left out of `from`, to).
type DiffKey = (String, Vec<String>, String);

/// A system has a handful of deployments and one update; a Fedora commit's list is about 200 kB.
const CAPACITY: usize = 16;

impl CommitCache {
    pub fn get(&self, repo: &ostree::Repo, checksum: &str) -> Result<Arc<CommitInfo>> {
        if let Some(info) = self.commits.borrow_mut().get(checksum) {
            return Ok(info);
        }
        let info = Arc::new(CommitInfo::load(repo, checksum)?);
        self.commits
            .borrow_mut()
            .insert(checksum.to_owned(), info.clone(), CAPACITY);
        Ok(info)
    }

    /// The package changes from commit `from`, without the packages named in `leave_out` (a
    /// client layer's), to commit `to`.
    pub fn diff(
        &self,
        repo: &ostree::Repo,
        from: &str,
        leave_out: &[String],
        to: &str,
    ) -> Result<PackageDiff> {
        let key = (from.to_owned(), leave_out.to_vec(), to.to_owned());
        if let Some((last, diff)) = &*self.last_diff.borrow()
            && *last == key
        {
            return Ok(diff.clone());
        }
        let base: Vec<Package> = self
            .get(repo, from)?
            .packages
            .iter()
            .filter(|p| !leave_out.contains(&p.name))
            .cloned()
            .collect();
        let diff = PackageDiff::between(&base, &self.get(repo, to)?.packages);
        *self.last_diff.borrow_mut() = Some((key, diff.clone()));
        Ok(diff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_makes_room_by_dropping_the_least_recently_used() {
        let mut lru = Lru::default();
        lru.insert("a".into(), 1, 2);
        lru.insert("b".into(), 2, 2);
        assert_eq!(lru.get("a"), Some(1));
        lru.insert("c".into(), 3, 2);
        assert_eq!(lru.get("b"), None, "b was used longest ago");
        assert_eq!(lru.get("a"), Some(1));
        assert_eq!(lru.get("c"), Some(3));
    }
}
