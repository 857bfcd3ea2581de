//! What Keel knows about a system, as plain data shared by the command line, the D-Bus service and
//! (through the service) the UI.

use serde::{Deserialize, Serialize};

use crate::Operation;
use crate::i18n::gettext;
use crate::packages::{PackageChange, PackageDiff};

/// The whole picture: deployments in boot order, the update waiting, what is layered.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemStatus {
    /// `ostree` (Keel performs operations with libostree) or `rpm-ostree` (rpm-ostreed does).
    pub driver: String,
    /// The operating system's name from its os-release, e.g. "Keel Demo OS".
    pub os_name: String,
    pub sysroot: String,
    /// Keel's own demo system.
    pub demo: bool,
    /// The sysroot is not the running system: which deployment is "booted" is Keel's record.
    pub booted_emulated: bool,
    pub deployments: Vec<Deployment>,
    /// A newer commit known on the remote than the booted deployment's base.
    pub cached_update: Option<Update>,
    /// What the driver can do on this system; the UI offers only these.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// The id of the deployment "Roll Back" (with no deployment named) would boot; None when there
    /// is nothing to roll back to.
    #[serde(default)]
    pub rollback_target: Option<String>,
    /// The id of the deployment an update made that waits for the next boot (a newer base than
    /// the booted one's); None when nothing does, or when what waits is a rollback or a change of
    /// layered packages only.
    #[serde(default)]
    pub pending_update: Option<String>,
    /// Changes whenever the history does (an operation here, or by another program), so a client
    /// reads the history again only then.
    #[serde(default)]
    pub history_mark: u64,
}

/// What a system's driver can do, so the UI shows only what works rather than what fails.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The remote offers a package source, so packages can be layered.
    pub can_layer: bool,
    /// Deployments can be pinned and unpinned.
    pub can_pin: bool,
    /// A deployment's `/etc` changes can be listed.
    pub can_config_diff: bool,
    /// Old deployments can be removed and the repository pruned.
    pub can_cleanup: bool,
    /// A deployed update takes effect only after a restart.
    pub update_needs_restart: bool,
    /// Reboot restarts the computer; false when it is simulated (the demo, a sysroot that is not
    /// the running system: the next-boot deployment just becomes the booted one).
    pub can_reboot: bool,
}

impl SystemStatus {
    pub fn booted(&self) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.booted)
    }

    /// A deployment by index, id, or one of the words `booted`, `pending`, `rollback`.
    pub fn find(&self, spec: &str) -> Option<&Deployment> {
        match spec {
            "booted" => self.deployments.iter().find(|d| d.booted),
            "pending" => self.deployments.iter().find(|d| d.pending),
            "rollback" => self.deployments.iter().find(|d| d.rollback),
            _ => match spec.parse::<usize>() {
                Ok(i) => self.deployments.get(i),
                Err(_) => self.deployments.iter().find(|d| d.id == spec),
            },
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// rpm-ostree's form: `osname-checksum.serial`.
    pub id: String,
    /// Position in boot order, 0 = next boot.
    pub index: u32,
    pub osname: String,
    pub checksum: String,
    pub serial: i32,
    pub version: Option<String>,
    /// Commit time, seconds since the epoch.
    pub timestamp: u64,
    /// The refspec it follows (`remote:ref`), if any.
    pub origin: Option<String>,
    /// The container image it follows instead of a refspec (rpm-ostree hosts built from an image,
    /// e.g. `ostree-image-signed:docker://ghcr.io/ublue-os/bluefin:stable`); `origin` is then None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_image: Option<String>,
    pub booted: bool,
    /// Written at shutdown by libostree (real hosts only).
    pub staged: bool,
    /// Boots next (first in boot order).
    pub default: bool,
    /// Newer than the booted deployment, waiting for a restart.
    pub pending: bool,
    /// What "Roll Back" would boot.
    pub rollback: bool,
    pub pinned: bool,
    /// Set when packages are layered: the image underneath.
    pub base_checksum: Option<String>,
    pub base_version: Option<String>,
    /// What the user asked to layer.
    pub requested_packages: Vec<String>,
    /// What is actually layered in this deployment's commit.
    pub layered_packages: Vec<String>,
    /// Local RPM files layered (rpm-ostree hosts), as their NEVRAs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_packages: Vec<String>,
    /// Base packages replaced by other versions (`rpm-ostree override replace`): name, arch, the
    /// image's version (`old_evr`) and the one in its place (`new_evr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaced_packages: Vec<PackageChange>,
    /// Base packages taken out (`rpm-ostree override remove`), by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_packages: Vec<String>,
    /// How many packages the deployment has; the list itself is read on demand (D-Bus
    /// `GetPackages`), as it runs to thousands.
    pub package_count: u32,
}

impl Deployment {
    pub fn short_checksum(&self) -> &str {
        short_checksum(&self.checksum)
    }
}

/// The first ten characters of a checksum, as people read them. Cut by characters, not bytes: a
/// checksum that came over D-Bus may be any text.
pub fn short_checksum(checksum: &str) -> &str {
    match checksum.char_indices().nth(10) {
        Some((end, _)) => &checksum[..end],
        None => checksum,
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub version: Option<String>,
    pub checksum: String,
    pub timestamp: u64,
    /// Package changes against the booted deployment's base.
    pub diff: PackageDiff,
    /// All of its content is already local (after a download-only update).
    pub downloaded: bool,
    /// Errata the update fixes (rpm-ostree hosts whose repositories publish them), most severe
    /// first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub advisories: Vec<Advisory>,
}

/// An erratum an update fixes, as rpm-ostree reports it (`FEDORA-2026-…`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    /// rpm-ostree's numbers: 0 none, 1 low, 2 moderate, 3 important, 4 critical.
    pub severity: u32,
    /// The packages it covers, as NEVRAs.
    pub packages: Vec<String>,
}

impl Advisory {
    /// The severity as people read it.
    pub fn severity_name(&self) -> String {
        match self.severity {
            // Translators: an advisory's severity, as Fedora rates it.
            1 => gettext("low"),
            // Translators: an advisory's severity, as Fedora rates it.
            2 => gettext("moderate"),
            // Translators: an advisory's severity, as Fedora rates it.
            3 => gettext("important"),
            // Translators: an advisory's severity, as Fedora rates it.
            4 => gettext("critical"),
            // Translators: an advisory's severity when it has none.
            _ => gettext("unrated"),
        }
    }
}

/// A package the package source offers for layering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailablePackage {
    pub name: String,
    pub evr: String,
    pub arch: String,
    pub summary: String,
}

/// As the D-Bus API lists them: (name, evr, arch, summary).
impl From<(String, String, String, String)> for AvailablePackage {
    fn from((name, evr, arch, summary): (String, String, String, String)) -> Self {
        Self {
            name,
            evr,
            arch,
            summary,
        }
    }
}

/// `/etc` against the image's defaults in `/usr/etc`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigDiff {
    pub modified: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Files in both that could not be compared (not readable, e.g. `/etc/shadow` for a normal
    /// user), and folders that could not be listed: changed or not, nobody can tell.
    #[serde(default)]
    pub unreadable: Vec<String>,
}

/// What a cleanup would do, worked out without doing it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupEstimate {
    /// Ids of the deployments it would remove.
    pub deployments: Vec<String>,
    /// Space it would free in the sysroot's `ostree` folder, in bytes (as `du` counts it).
    pub bytes: u64,
}

/// One finished operation, as the history journal keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Seconds since the epoch.
    pub time: u64,
    pub operation: Operation,
    pub from_version: Option<String>,
    pub to_version: Option<String>,
    pub success: bool,
    /// The error's message, or a short account of what was done.
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<PackageDiff>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_checksum_is_cut_by_characters() {
        assert_eq!(short_checksum("0123456789abcdef"), "0123456789");
        assert_eq!(short_checksum("abc"), "abc");
        // Two bytes each: cutting at byte 10 would be fine, at 11 would panic; any text is safe.
        assert_eq!(short_checksum("äöüäöüäöüäöü"), "äöüäöüäöüä");
        let deployment = Deployment {
            checksum: "€€€€€€€€€€€€".into(),
            ..Default::default()
        };
        assert_eq!(deployment.short_checksum(), "€€€€€€€€€€");
    }
}
