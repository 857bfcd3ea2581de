//! The D-Bus API's names, and the model as D-Bus values: extensible records are `a{sv}` with
//! kebab-case keys, packages are `(sssss)` like Fedora's `rpmostree.rpmdb.pkglist`. Documented in
//! data/dbus/README.md.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

use crate::model::{
    Capabilities, CleanupEstimate, ConfigDiff, Deployment, HistoryEntry, SystemStatus, Update,
};
use crate::packages::{Package, PackageChange, PackageDiff, PackageTuple};

pub const BUS_NAME: &str = "io.github.keelapp.Keel.Backend";
pub const OBJECT_PATH: &str = "/io/github/keelapp/Keel/Backend";
pub const INTERFACE: &str = "io.github.keelapp.Keel.Backend1";
pub const TRANSACTION_INTERFACE: &str = "io.github.keelapp.Keel.Backend1.Transaction";
pub const ERROR_PREFIX: &str = "io.github.keelapp.Keel.Backend1.Error";

/// Where the demo system lives under the user's data folder (`$XDG_DATA_HOME`).
pub const DEMO_DIR: &str = "keel/demo";

/// The sysroot's folder inside the demo's (beside `remote`).
pub const DEMO_SYSROOT: &str = "sysroot";

/// The demo's sysroot, given the user's data folder.
pub fn demo_sysroot(user_data_dir: &Path) -> PathBuf {
    user_data_dir.join(DEMO_DIR).join(DEMO_SYSROOT)
}

/// The well-known name of the backend that serves `sysroot`: [`BUS_NAME`] for the running system
/// (`/`), a name derived from the absolute path for any other (the demo, test sysroots). One backend
/// serves one system, so two windows on two systems never end up sharing the first one started.
pub fn bus_name(sysroot: &Path) -> String {
    let path = std::path::absolute(sysroot).unwrap_or_else(|_| sysroot.to_path_buf());
    if path == Path::new("/") {
        return BUS_NAME.to_owned();
    }
    // FNV-1a: stable across builds and Rust versions, unlike std's hasher.
    let hash = path
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{BUS_NAME}.Sysroot_{hash:016x}")
}

pub type Dict = HashMap<String, OwnedValue>;

/// Builds an `a{sv}`, leaving out what is absent.
#[derive(Default)]
struct Builder(Dict);

impl Builder {
    fn put<'a>(mut self, key: &str, value: impl Into<Value<'a>>) -> Self {
        let owned =
            OwnedValue::try_from(value.into()).expect("plain data never holds a file descriptor");
        self.0.insert(key.to_owned(), owned);
        self
    }

    fn put_some<'a, T: Into<Value<'a>>>(self, key: &str, value: Option<T>) -> Self {
        match value {
            Some(v) => self.put(key, v),
            None => self,
        }
    }

    fn build(self) -> Dict {
        self.0
    }
}

fn package(p: &Package) -> PackageTuple {
    (
        p.name.clone(),
        p.epoch.clone(),
        p.version.clone(),
        p.release.clone(),
        p.arch.clone(),
    )
}

fn packages(list: &[Package]) -> Vec<PackageTuple> {
    list.iter().map(package).collect()
}

fn changes(list: &[PackageChange]) -> Vec<(String, String, String, String)> {
    list.iter()
        .map(|c| {
            (
                c.name.clone(),
                c.arch.clone(),
                c.old_evr.clone(),
                c.new_evr.clone(),
            )
        })
        .collect()
}

pub fn diff(d: &PackageDiff) -> Dict {
    Builder::default()
        .put("added", packages(&d.added))
        .put("removed", packages(&d.removed))
        .put("upgraded", changes(&d.upgraded))
        .put("downgraded", changes(&d.downgraded))
        .build()
}

pub fn deployment(d: &Deployment) -> Dict {
    Builder::default()
        .put("id", d.id.as_str())
        .put("index", d.index)
        .put("osname", d.osname.as_str())
        .put("checksum", d.checksum.as_str())
        .put("serial", d.serial)
        .put_some("version", d.version.as_deref())
        .put("timestamp", d.timestamp)
        .put_some("origin", d.origin.as_deref())
        .put("booted", d.booted)
        .put("staged", d.staged)
        .put("default", d.default)
        .put("pending", d.pending)
        .put("rollback", d.rollback)
        .put("pinned", d.pinned)
        .put_some("base-checksum", d.base_checksum.as_deref())
        .put_some("base-version", d.base_version.as_deref())
        .put("requested-packages", d.requested_packages.clone())
        .put("layered-packages", d.layered_packages.clone())
        .put("packages", packages(&d.packages))
        .build()
}

pub fn update(u: &Update) -> Dict {
    Builder::default()
        .put_some("version", u.version.as_deref())
        .put("checksum", u.checksum.as_str())
        .put("timestamp", u.timestamp)
        .put("downloaded", u.downloaded)
        .put("diff", diff(&u.diff))
        .build()
}

pub fn capabilities(c: &Capabilities) -> Dict {
    Builder::default()
        .put("can-layer", c.can_layer)
        .put("can-pin", c.can_pin)
        .put("can-config-diff", c.can_config_diff)
        .put("can-cleanup", c.can_cleanup)
        .put("update-needs-restart", c.update_needs_restart)
        .put("can-reboot", c.can_reboot)
        .build()
}

pub fn status(s: &SystemStatus) -> Dict {
    let deployments: Vec<Dict> = s.deployments.iter().map(deployment).collect();
    Builder::default()
        .put("driver", s.driver.as_str())
        .put("os-name", s.os_name.as_str())
        .put("sysroot", s.sysroot.as_str())
        .put("demo", s.demo)
        .put("booted-emulated", s.booted_emulated)
        .put("deployments", deployments)
        .put(
            "cached-update",
            s.cached_update.as_ref().map(update).unwrap_or_default(),
        )
        .put("capabilities", capabilities(&s.capabilities))
        .put_some("rollback-target", s.rollback_target.as_deref())
        .build()
}

pub fn config_diff(c: &ConfigDiff) -> Dict {
    Builder::default()
        .put("modified", c.modified.clone())
        .put("added", c.added.clone())
        .put("removed", c.removed.clone())
        .put("unreadable", c.unreadable.clone())
        .build()
}

pub fn cleanup_estimate(e: &CleanupEstimate) -> Dict {
    Builder::default()
        .put("deployments", e.deployments.clone())
        .put("bytes", e.bytes)
        .build()
}

pub fn history_entry(e: &HistoryEntry) -> Dict {
    Builder::default()
        .put("time", e.time)
        .put("operation", e.operation.as_str())
        .put_some("from-version", e.from_version.as_deref())
        .put_some("to-version", e.to_version.as_deref())
        .put("success", e.success)
        .put("message", e.message.as_str())
        .put_some("diff", e.diff.as_ref().map(diff))
        .build()
}

// ---- reading the records back (the UI's side) ----------------------------------------------------

fn text(d: &Dict, key: &str) -> Option<String> {
    d.get(key)
        .and_then(|v| <&str>::try_from(v).ok())
        .map(str::to_owned)
}

fn flag(d: &Dict, key: &str) -> bool {
    d.get(key)
        .and_then(|v| bool::try_from(v).ok())
        .unwrap_or(false)
}

fn number<T: TryFrom<OwnedValue>>(d: &Dict, key: &str) -> Option<T> {
    d.get(key)
        .and_then(|v| v.try_clone().ok())
        .and_then(|v| T::try_from(v).ok())
}

fn list<T: TryFrom<OwnedValue>>(d: &Dict, key: &str) -> Option<T> {
    number(d, key)
}

fn parse_packages(v: Option<Vec<PackageTuple>>) -> Vec<Package> {
    v.unwrap_or_default()
        .into_iter()
        .map(Package::from)
        .collect()
}

fn parse_changes(v: Option<Vec<(String, String, String, String)>>) -> Vec<PackageChange> {
    v.unwrap_or_default()
        .into_iter()
        .map(|(name, arch, old_evr, new_evr)| PackageChange {
            name,
            arch,
            old_evr,
            new_evr,
        })
        .collect()
}

pub fn parse_diff(d: &Dict) -> PackageDiff {
    PackageDiff {
        added: parse_packages(list(d, "added")),
        removed: parse_packages(list(d, "removed")),
        upgraded: parse_changes(list(d, "upgraded")),
        downgraded: parse_changes(list(d, "downgraded")),
    }
}

pub fn parse_deployment(d: &Dict) -> Deployment {
    Deployment {
        id: text(d, "id").unwrap_or_default(),
        index: number(d, "index").unwrap_or_default(),
        osname: text(d, "osname").unwrap_or_default(),
        checksum: text(d, "checksum").unwrap_or_default(),
        serial: number(d, "serial").unwrap_or_default(),
        version: text(d, "version"),
        timestamp: number(d, "timestamp").unwrap_or_default(),
        origin: text(d, "origin"),
        booted: flag(d, "booted"),
        staged: flag(d, "staged"),
        default: flag(d, "default"),
        pending: flag(d, "pending"),
        rollback: flag(d, "rollback"),
        pinned: flag(d, "pinned"),
        base_checksum: text(d, "base-checksum"),
        base_version: text(d, "base-version"),
        requested_packages: list(d, "requested-packages").unwrap_or_default(),
        layered_packages: list(d, "layered-packages").unwrap_or_default(),
        packages: parse_packages(list(d, "packages")),
    }
}

pub fn parse_capabilities(d: &Dict) -> Capabilities {
    Capabilities {
        can_layer: flag(d, "can-layer"),
        can_pin: flag(d, "can-pin"),
        can_config_diff: flag(d, "can-config-diff"),
        can_cleanup: flag(d, "can-cleanup"),
        update_needs_restart: flag(d, "update-needs-restart"),
        can_reboot: flag(d, "can-reboot"),
    }
}

pub fn parse_status(d: &Dict) -> SystemStatus {
    let deployments: Vec<Dict> = list(d, "deployments").unwrap_or_default();
    let update: Dict = list(d, "cached-update").unwrap_or_default();
    let capabilities: Dict = list(d, "capabilities").unwrap_or_default();
    SystemStatus {
        driver: text(d, "driver").unwrap_or_default(),
        os_name: text(d, "os-name").unwrap_or_default(),
        sysroot: text(d, "sysroot").unwrap_or_default(),
        demo: flag(d, "demo"),
        booted_emulated: flag(d, "booted-emulated"),
        deployments: deployments.iter().map(parse_deployment).collect(),
        cached_update: (!update.is_empty()).then(|| Update {
            version: text(&update, "version"),
            checksum: text(&update, "checksum").unwrap_or_default(),
            timestamp: number(&update, "timestamp").unwrap_or_default(),
            downloaded: flag(&update, "downloaded"),
            diff: list::<Dict>(&update, "diff")
                .map(|d| parse_diff(&d))
                .unwrap_or_default(),
        }),
        capabilities: parse_capabilities(&capabilities),
        rollback_target: text(d, "rollback-target"),
    }
}

pub fn parse_history_entry(d: &Dict) -> HistoryEntry {
    HistoryEntry {
        time: number(d, "time").unwrap_or_default(),
        operation: text(d, "operation").unwrap_or_default(),
        from_version: text(d, "from-version"),
        to_version: text(d, "to-version"),
        success: flag(d, "success"),
        message: text(d, "message").unwrap_or_default(),
        diff: list::<Dict>(d, "diff").map(|d| parse_diff(&d)),
    }
}

pub fn parse_config_diff(d: &Dict) -> ConfigDiff {
    ConfigDiff {
        modified: list(d, "modified").unwrap_or_default(),
        added: list(d, "added").unwrap_or_default(),
        removed: list(d, "removed").unwrap_or_default(),
        unreadable: list(d, "unreadable").unwrap_or_default(),
    }
}

pub fn parse_cleanup_estimate(d: &Dict) -> CleanupEstimate {
    CleanupEstimate {
        deployments: list(d, "deployments").unwrap_or_default(),
        bytes: number(d, "bytes").unwrap_or_default(),
    }
}

/// The client side of the API.
#[zbus::proxy(
    interface = "io.github.keelapp.Keel.Backend1",
    default_service = "io.github.keelapp.Keel.Backend",
    default_path = "/io/github/keelapp/Keel/Backend"
)]
pub trait Backend1 {
    fn get_status(&self) -> zbus::Result<Dict>;
    fn get_diff(&self, from: &str, to: &str) -> zbus::Result<Dict>;
    fn get_config_diff(&self, deployment: &str) -> zbus::Result<Dict>;
    fn get_history(&self) -> zbus::Result<Vec<Dict>>;
    fn estimate_cleanup(&self, options: HashMap<&str, Value<'_>>) -> zbus::Result<Dict>;
    fn list_packages(&self) -> zbus::Result<Vec<(String, String, String, String)>>;
    fn check(&self) -> zbus::Result<OwnedObjectPath>;
    fn update(&self, options: HashMap<&str, Value<'_>>) -> zbus::Result<OwnedObjectPath>;
    fn rollback(&self, deployment: &str) -> zbus::Result<OwnedObjectPath>;
    fn pin(&self, deployment: &str) -> zbus::Result<OwnedObjectPath>;
    fn unpin(&self, deployment: &str) -> zbus::Result<OwnedObjectPath>;
    fn remove(&self, deployment: &str) -> zbus::Result<OwnedObjectPath>;
    fn install_packages(&self, packages: &[&str]) -> zbus::Result<OwnedObjectPath>;
    fn uninstall_packages(&self, packages: &[&str]) -> zbus::Result<OwnedObjectPath>;
    fn reset_packages(&self) -> zbus::Result<OwnedObjectPath>;
    fn cleanup(&self, options: HashMap<&str, Value<'_>>) -> zbus::Result<OwnedObjectPath>;
    fn reboot(&self) -> zbus::Result<OwnedObjectPath>;
    fn register_client(&self) -> zbus::Result<()>;
    fn unregister_client(&self) -> zbus::Result<()>;
    #[zbus(property)]
    fn active_transaction(&self) -> zbus::Result<OwnedObjectPath>;
    #[zbus(signal)]
    fn status_changed(&self) -> zbus::Result<()>;
}

#[zbus::proxy(
    interface = "io.github.keelapp.Keel.Backend1.Transaction",
    default_service = "io.github.keelapp.Keel.Backend"
)]
pub trait Transaction {
    fn cancel(&self) -> zbus::Result<()>;
    #[zbus(property)]
    fn operation(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn fraction(&self) -> zbus::Result<f64>;
    #[zbus(property)]
    fn phase(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn message(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn error_name(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn error_message(&self) -> zbus::Result<String>;
    #[zbus(signal)]
    fn progress(
        &self,
        fraction: f64,
        phase: String,
        message: String,
        bytes_done: u64,
        bytes_total: u64,
    ) -> zbus::Result<()>;
    #[zbus(signal)]
    fn finished(&self, success: bool, error_name: String, message: String) -> zbus::Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_name_per_system() {
        assert_eq!(bus_name(Path::new("/")), BUS_NAME);
        let a = bus_name(Path::new("/srv/a/sysroot"));
        let b = bus_name(Path::new("/srv/b/sysroot"));
        assert_ne!(a, b);
        assert_eq!(a, bus_name(Path::new("/srv/a/sysroot")));
        assert!(a.starts_with("io.github.keelapp.Keel.Backend.Sysroot_"));
        // A valid well-known name.
        zbus::names::WellKnownName::try_from(a.as_str()).expect("valid");
        // Relative paths name the same system as their absolute form.
        let here = std::env::current_dir().unwrap();
        assert_eq!(bus_name(Path::new("x")), bus_name(&here.join("x")));
    }

    fn sample() -> SystemStatus {
        let pkg = Package::new("bash", "0", "5.2.32", "1.fc41", "x86_64");
        SystemStatus {
            driver: "ostree".into(),
            os_name: "Keel Demo OS".into(),
            sysroot: "/tmp/x".into(),
            demo: true,
            booted_emulated: true,
            deployments: vec![Deployment {
                id: "keeldemo-abc.0".into(),
                index: 0,
                osname: "keeldemo".into(),
                checksum: "abc".into(),
                serial: 0,
                version: Some("41.20261112.0".into()),
                timestamp: 1_794_000_000,
                origin: Some("keeldemo:keeldemo/stable/x86_64".into()),
                booted: true,
                default: true,
                pinned: true,
                base_checksum: Some("def".into()),
                requested_packages: vec!["htop".into()],
                layered_packages: vec!["htop".into()],
                packages: vec![pkg.clone()],
                ..Default::default()
            }],
            cached_update: Some(Update {
                version: Some("41.20261125.0".into()),
                checksum: "123".into(),
                timestamp: 1_795_000_000,
                downloaded: false,
                diff: PackageDiff {
                    added: vec![pkg],
                    upgraded: vec![PackageChange {
                        name: "kernel".into(),
                        arch: "x86_64".into(),
                        old_evr: "6.11.4-301.fc41".into(),
                        new_evr: "6.11.5-300.fc41".into(),
                    }],
                    ..Default::default()
                },
            }),
            capabilities: Capabilities {
                can_layer: true,
                can_pin: true,
                can_config_diff: false,
                can_cleanup: true,
                update_needs_restart: true,
                can_reboot: false,
            },
            rollback_target: Some("keeldemo-def.0".into()),
        }
    }

    #[test]
    fn status_survives_the_trip_over_dbus() {
        let status = sample();
        assert_eq!(parse_status(&super::status(&status)), status);
        let none = SystemStatus {
            cached_update: None,
            rollback_target: None,
            capabilities: Capabilities::default(),
            ..sample()
        };
        assert_eq!(parse_status(&super::status(&none)), none);
    }

    #[test]
    fn history_and_config_diff_survive_the_trip() {
        let entry = HistoryEntry {
            time: 5,
            operation: "update".into(),
            from_version: Some("1".into()),
            to_version: None,
            success: false,
            message: "no".into(),
            diff: Some(PackageDiff::default()),
        };
        assert_eq!(parse_history_entry(&history_entry(&entry)), entry);
        let diff = ConfigDiff {
            modified: vec!["motd".into()],
            added: vec![],
            removed: vec!["fstab".into()],
            unreadable: vec!["shadow".into()],
        };
        assert_eq!(parse_config_diff(&config_diff(&diff)), diff);
    }
}
