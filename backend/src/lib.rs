//! Keel's backend: the only part of Keel that touches a sysroot or talks to rpm-ostreed.
//!
//! GTK-free on purpose: it links libostree, the UI links GTK, and the two meet over D-Bus.

pub mod bench;
pub mod demo;
pub mod error;
pub mod history;
pub mod pkglist;
pub mod progress;
pub mod service;
pub mod system;

pub use error::{Error, Result};
pub use keel_api::{dbus, model, packages};
pub use ostree;

#[cfg(test)]
mod tests {
    use ostree::gio;

    /// The build environment links a libostree that can make a real repository.
    #[test]
    fn creates_an_archive_repo() {
        let dir = tempfile::tempdir().unwrap();
        let repo = ostree::Repo::new_for_path(dir.path().join("repo"));
        repo.create(ostree::RepoMode::Archive, gio::Cancellable::NONE)
            .unwrap();
        assert!(dir.path().join("repo/config").is_file());
        assert_eq!(repo.mode(), ostree::RepoMode::Archive);
    }
}
