//! The installed Flatpaks as Keel shows them: one [`App`] per installed ref, apps and runtimes
//! alike, read from the installations on disk by the backend's `apps` module.

use serde::{Deserialize, Serialize};

use crate::words::wire_enum;

wire_enum! {
    /// Whether a ref is an application or a runtime (extensions and locales are runtimes too).
    #[derive(Default)]
    pub enum AppKind {
        #[default]
        App => "app",
        Runtime => "runtime",
    }
}

/// One installed ref. Strings that do not apply are empty, never missing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    /// `INSTALLATION:REF` (`user:app/org.test.Hello/x86_64/master`): what mutations take.
    pub key: String,
    /// The full ref, `app/ID/ARCH/BRANCH` or `runtime/ID/ARCH/BRANCH`.
    pub reference: String,
    pub kind: AppKind,
    pub id: String,
    /// From the app's appstream data; the id when it has none.
    pub name: String,
    pub summary: String,
    pub version: String,
    pub branch: String,
    pub arch: String,
    /// The remote it was installed from.
    pub origin: String,
    /// `system`, `user` or the name of an `/etc/flatpak/installations.d` entry.
    pub installation: String,
    /// Bytes on disk, as flatpak recorded them when it deployed the ref.
    pub installed_size: u64,
    /// The deployed commit (64 hex digits).
    pub commit: String,
    /// For apps, the runtime ref it runs on (`runtime/ID/ARCH/BRANCH`); empty for runtimes.
    pub runtime: String,
    /// Why it is end-of-life, when it is — as deployed, or as a downloaded update announces it.
    pub end_of_life: String,
    /// The ref that replaces it (`app/ID/ARCH/BRANCH`), when it is end-of-life in favour of
    /// another; updating it moves to that one.
    pub end_of_life_rebase: String,
    /// Absolute path of its largest icon, or empty.
    pub icon: String,
    /// The newer commit already known from its remote (after a check), or empty.
    pub update_commit: String,
    /// A runtime nothing installed needs any more (`flatpak uninstall --unused` would remove it).
    pub unused: bool,
    /// Why the entry could not be read fully; empty when fine. The other fields may then be
    /// partial.
    pub broken: String,
}

impl App {
    pub fn is_runtime(&self) -> bool {
        self.kind == AppKind::Runtime
    }

    pub fn has_update(&self) -> bool {
        !self.update_commit.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_spelled_as_the_contract_says() {
        assert_eq!(AppKind::App.as_str(), "app");
        assert_eq!(AppKind::Runtime.as_str(), "runtime");
        assert_eq!("runtime".parse::<AppKind>().unwrap(), AppKind::Runtime);
        let json = serde_json::to_string(&App::default()).unwrap();
        assert!(json.contains("\"kind\":\"app\""), "{json}");
    }
}
