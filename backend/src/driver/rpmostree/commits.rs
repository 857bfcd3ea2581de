//! Package lists from the sysroot's repository, read-only: rpm-ostreed has no call that lists a
//! deployment's packages, but the commits it deploys carry them (`rpmostree.rpmdb.pkglist`). Inside
//! the Flatpak sandbox the host's repository is out of sight, and the lists are simply unknown.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::driver::ostree::pkglist::{PKGLIST_KEY, pkglist_from_variant};
use crate::error::{Error, Result};
use crate::packages::Package;
use keel_api::i18n::{fill, gettext};

/// Parsed lists by commit checksum (a commit never changes). Bounded: a long-running service meets
/// a new commit with every update.
pub(super) struct PackageLists {
    repo_path: PathBuf,
    repo: Mutex<Option<ostree::Repo>>,
    lists: Mutex<HashMap<String, Arc<Vec<Package>>>>,
}

const KEEP: usize = 16;

impl PackageLists {
    pub fn new(sysroot: &Path) -> Self {
        Self {
            repo_path: sysroot.join("ostree/repo"),
            repo: Mutex::new(None),
            lists: Mutex::new(HashMap::new()),
        }
    }

    /// The packages of a commit; an error when the repository cannot be read from here.
    pub fn get(&self, checksum: &str) -> Result<Arc<Vec<Package>>> {
        if let Some(list) = self
            .lists
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(checksum)
        {
            return Ok(list.clone());
        }
        let list = Arc::new(self.load(checksum)?);
        let mut lists = self.lists.lock().unwrap_or_else(|e| e.into_inner());
        if lists.len() >= KEEP {
            lists.clear();
        }
        lists.insert(checksum.to_owned(), list.clone());
        Ok(list)
    }

    /// How many packages a commit has; 0 when that cannot be known here.
    pub fn count(&self, checksum: &str) -> u32 {
        self.get(checksum).map_or(0, |l| l.len() as u32)
    }

    fn load(&self, checksum: &str) -> Result<Vec<Package>> {
        let mut repo = self.repo.lock().unwrap_or_else(|e| e.into_inner());
        if repo.is_none() {
            let r = ostree::Repo::new(&ostree::gio::File::for_path(&self.repo_path));
            r.open(ostree::gio::Cancellable::NONE)
                .map_err(|_| self.unreadable())?;
            *repo = Some(r);
        }
        let repo = repo.as_ref().expect("opened above");
        let commit = repo
            .load_variant(ostree::ObjectType::Commit, checksum)
            .map_err(|_| self.unreadable())?;
        let meta = ostree::glib::VariantDict::new(Some(&commit.child_value(0)));
        match meta.lookup_value(PKGLIST_KEY, None) {
            Some(list) => pkglist_from_variant(&list).map_err(Error::Failed),
            None => Ok(Vec::new()),
        }
    }

    fn unreadable(&self) -> Error {
        Error::NotFound(fill(
            // Translators: {path} is a folder; rpm-ostreed itself offers no package lists.
            &gettext(
                "The package list cannot be read here: the system’s repository {path} is out of reach (as it is inside the Flatpak sandbox).",
            ),
            &[("path", &self.repo_path.display().to_string())],
        ))
    }
}
