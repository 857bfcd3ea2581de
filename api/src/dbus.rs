//! The D-Bus API's names, and the model as D-Bus values: extensible records are `a{sv}` with
//! kebab-case keys, packages are `(sssss)` like Fedora's `rpmostree.rpmdb.pkglist`. Documented in
//! data/dbus/README.md.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use zbus::zvariant::{DeserializeDict, OwnedObjectPath, SerializeDict, Type, Value};

use crate::apps::{App, AppKind};
use crate::model::{
    Advisory, Capabilities, CleanupEstimate, ConfigDiff, Deployment, HistoryEntry, SystemStatus,
    Update,
};
use crate::packages::{Package, PackageChange, PackageDiff};

pub const BUS_NAME: &str = "io.github.keelapp.Keel.Backend";
pub const OBJECT_PATH: &str = "/io/github/keelapp/Keel/Backend";
pub const INTERFACE: &str = "io.github.keelapp.Keel.Backend1";
pub const TRANSACTION_INTERFACE: &str = "io.github.keelapp.Keel.Backend1.Transaction";
pub const ERROR_PREFIX: &str = "io.github.keelapp.Keel.Backend1.Error";
/// The Flatpak apps, on the same object as [`INTERFACE`].
pub const APPS_INTERFACE: &str = "io.github.keelapp.Keel.Apps1";

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

// ---- the records: the model's types as they cross the bus ----------------------------------------
//
// Each record is an `a{sv}` with kebab-case keys, written and read by zvariant's derives (an absent
// `Option` is a missing key). The model keeps its own serde form (snake_case JSON) for the command
// line and the history journal, which is why each record is a twin of a model type.

/// The conversions between a model type and its record, from the list of its fields. Both
/// directions destructure every field, so a field added to the model and not to its record is a
/// compile error. A field marked `each` is a list of records, one marked `map` an optional record;
/// the rest convert with `into`.
macro_rules! convert {
    ($record:ident <=> $model:ident { $($field:ident $($how:ident)?),+ $(,)? }) => {
        impl From<$model> for $record {
            fn from(model: $model) -> Self {
                let $model { $($field),+ } = model;
                Self { $($field: convert!(@one $field $($how)?),)+ }
            }
        }

        impl From<$record> for $model {
            fn from(record: $record) -> Self {
                let $record { $($field),+ } = record;
                Self { $($field: convert!(@one $field $($how)?),)+ }
            }
        }
    };
    (@one $field:ident) => { $field.into() };
    (@one $field:ident each) => { $field.into_iter().map(Into::into).collect() };
    (@one $field:ident map) => { $field.map(Into::into) };
}

/// `GetStatus`'s answer.
#[derive(Clone, Debug, PartialEq, SerializeDict, DeserializeDict, Type)]
#[zvariant(signature = "a{sv}", rename_all = "kebab-case")]
pub struct StatusRecord {
    pub driver: String,
    pub os_name: String,
    pub sysroot: String,
    pub demo: bool,
    pub booted_emulated: bool,
    pub deployments: Vec<DeploymentRecord>,
    pub cached_update: Option<UpdateRecord>,
    pub capabilities: CapabilitiesRecord,
    pub rollback_target: Option<String>,
    pub pending_update: Option<String>,
    pub history_mark: u64,
}

convert!(StatusRecord <=> SystemStatus {
    driver, os_name, sysroot, demo, booted_emulated, deployments each, cached_update map,
    capabilities, rollback_target, pending_update, history_mark,
});

#[derive(Clone, Debug, PartialEq, SerializeDict, DeserializeDict, Type)]
#[zvariant(signature = "a{sv}", rename_all = "kebab-case")]
pub struct CapabilitiesRecord {
    pub can_layer: bool,
    pub can_pin: bool,
    pub can_config_diff: bool,
    pub can_cleanup: bool,
    pub update_needs_restart: bool,
    pub can_reboot: bool,
}

convert!(CapabilitiesRecord <=> Capabilities {
    can_layer, can_pin, can_config_diff, can_cleanup, update_needs_restart, can_reboot,
});

#[derive(Clone, Debug, PartialEq, SerializeDict, DeserializeDict, Type)]
#[zvariant(signature = "a{sv}", rename_all = "kebab-case")]
pub struct DeploymentRecord {
    pub id: String,
    pub index: u32,
    pub osname: String,
    pub checksum: String,
    pub serial: i32,
    pub version: Option<String>,
    pub timestamp: u64,
    pub origin: Option<String>,
    pub container_image: Option<String>,
    pub booted: bool,
    pub staged: bool,
    pub default: bool,
    pub pending: bool,
    pub rollback: bool,
    pub pinned: bool,
    pub base_checksum: Option<String>,
    pub base_version: Option<String>,
    pub requested_packages: Vec<String>,
    pub layered_packages: Vec<String>,
    pub local_packages: Vec<String>,
    pub replaced_packages: Vec<PackageChange>,
    pub removed_packages: Vec<String>,
    pub package_count: u32,
}

convert!(DeploymentRecord <=> Deployment {
    id, index, osname, checksum, serial, version, timestamp, origin, container_image, booted,
    staged, default, pending, rollback, pinned, base_checksum, base_version, requested_packages,
    layered_packages, local_packages, replaced_packages, removed_packages, package_count,
});

#[derive(Clone, Debug, PartialEq, SerializeDict, DeserializeDict, Type)]
#[zvariant(signature = "a{sv}", rename_all = "kebab-case")]
pub struct UpdateRecord {
    pub version: Option<String>,
    pub checksum: String,
    pub timestamp: u64,
    pub downloaded: bool,
    pub diff: DiffRecord,
    pub advisories: Vec<AdvisoryRecord>,
}

convert!(UpdateRecord <=> Update { version, checksum, timestamp, downloaded, diff, advisories each });

#[derive(Clone, Debug, PartialEq, SerializeDict, DeserializeDict, Type)]
#[zvariant(signature = "a{sv}", rename_all = "kebab-case")]
pub struct AdvisoryRecord {
    pub id: String,
    pub severity: u32,
    pub packages: Vec<String>,
}

convert!(AdvisoryRecord <=> Advisory { id, severity, packages });

/// `GetDiff`'s answer, and the package changes an update or a history entry carries.
#[derive(Clone, Debug, PartialEq, SerializeDict, DeserializeDict, Type)]
#[zvariant(signature = "a{sv}", rename_all = "kebab-case")]
pub struct DiffRecord {
    pub added: Vec<Package>,
    pub removed: Vec<Package>,
    pub upgraded: Vec<PackageChange>,
    pub downgraded: Vec<PackageChange>,
}

convert!(DiffRecord <=> PackageDiff { added, removed, upgraded, downgraded });

/// One entry of `GetHistory`'s answer.
#[derive(Clone, Debug, PartialEq, SerializeDict, DeserializeDict, Type)]
#[zvariant(signature = "a{sv}", rename_all = "kebab-case")]
pub struct HistoryRecord {
    pub time: u64,
    pub operation: crate::Operation,
    pub from_version: Option<String>,
    pub to_version: Option<String>,
    pub success: bool,
    pub message: String,
    pub diff: Option<DiffRecord>,
}

convert!(HistoryRecord <=> HistoryEntry {
    time, operation, from_version, to_version, success, message, diff map,
});

/// `GetConfigDiff`'s answer.
#[derive(Clone, Debug, PartialEq, SerializeDict, DeserializeDict, Type)]
#[zvariant(signature = "a{sv}", rename_all = "kebab-case")]
pub struct ConfigDiffRecord {
    pub modified: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub unreadable: Vec<String>,
}

convert!(ConfigDiffRecord <=> ConfigDiff { modified, added, removed, unreadable });

/// `EstimateCleanup`'s answer.
#[derive(Clone, Debug, PartialEq, SerializeDict, DeserializeDict, Type)]
#[zvariant(signature = "a{sv}", rename_all = "kebab-case")]
pub struct CleanupEstimateRecord {
    pub deployments: Vec<String>,
    pub bytes: u64,
}

convert!(CleanupEstimateRecord <=> CleanupEstimate { deployments, bytes });

/// One entry of `ListApps`'s answer: an installed Flatpak app or runtime. Every key is always
/// there (an unknown string is ""), as data/dbus/README.md documents.
#[derive(Clone, Debug, PartialEq, SerializeDict, DeserializeDict, Type)]
#[zvariant(signature = "a{sv}", rename_all = "kebab-case")]
pub struct AppRecord {
    pub key: String,
    #[zvariant(rename = "ref")]
    pub reference: String,
    pub kind: AppKind,
    pub id: String,
    pub name: String,
    pub summary: String,
    pub version: String,
    pub branch: String,
    pub arch: String,
    pub origin: String,
    pub installation: String,
    pub installed_size: u64,
    pub commit: String,
    pub runtime: String,
    pub end_of_life: String,
    pub end_of_life_rebase: String,
    pub icon: String,
    pub update_commit: String,
    pub unused: bool,
    pub broken: String,
}

convert!(AppRecord <=> App {
    key, reference, kind, id, name, summary, version, branch, arch, origin, installation,
    installed_size, commit, runtime, end_of_life, end_of_life_rebase, icon, update_commit, unused,
    broken,
});

/// The client side of the API.
#[zbus::proxy(
    interface = "io.github.keelapp.Keel.Backend1",
    default_service = "io.github.keelapp.Keel.Backend",
    default_path = "/io/github/keelapp/Keel/Backend"
)]
pub trait Backend1 {
    fn get_status(&self) -> zbus::Result<StatusRecord>;
    fn get_diff(&self, from: &str, to: &str) -> zbus::Result<DiffRecord>;
    fn get_config_diff(&self, deployment: &str) -> zbus::Result<ConfigDiffRecord>;
    fn get_history(&self) -> zbus::Result<Vec<HistoryRecord>>;
    fn estimate_cleanup(
        &self,
        options: HashMap<&str, Value<'_>>,
    ) -> zbus::Result<CleanupEstimateRecord>;
    fn list_packages(&self) -> zbus::Result<Vec<(String, String, String, String)>>;
    fn get_packages(&self, deployment: &str) -> zbus::Result<Vec<Package>>;
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
    fn update_all(&self) -> zbus::Result<OwnedObjectPath>;
    fn register_client(&self) -> zbus::Result<()>;
    fn unregister_client(&self) -> zbus::Result<()>;
    #[zbus(property)]
    fn active_transaction(&self) -> zbus::Result<OwnedObjectPath>;
    #[zbus(signal)]
    fn status_changed(&self) -> zbus::Result<()>;
}

/// The client side of the Flatpak apps' interface (same service and object as [`Backend1`]).
#[zbus::proxy(
    interface = "io.github.keelapp.Keel.Apps1",
    default_service = "io.github.keelapp.Keel.Backend",
    default_path = "/io/github/keelapp/Keel/Backend"
)]
pub trait Apps1 {
    fn list_apps(&self) -> zbus::Result<Vec<AppRecord>>;
    fn check_apps(&self) -> zbus::Result<OwnedObjectPath>;
    fn update_apps(&self, keys: &[&str]) -> zbus::Result<OwnedObjectPath>;
    fn uninstall_apps(
        &self,
        keys: &[&str],
        options: HashMap<&str, Value<'_>>,
    ) -> zbus::Result<OwnedObjectPath>;
    fn remove_unused_apps(&self) -> zbus::Result<OwnedObjectPath>;
    #[zbus(signal)]
    fn apps_changed(&self) -> zbus::Result<()>;
}

#[zbus::proxy(
    interface = "io.github.keelapp.Keel.Backend1.Transaction",
    default_service = "io.github.keelapp.Keel.Backend"
)]
pub trait Transaction {
    fn cancel(&self) -> zbus::Result<()>;
    #[zbus(property)]
    fn operation(&self) -> zbus::Result<crate::Operation>;
    #[zbus(property)]
    fn state(&self) -> zbus::Result<crate::TransactionState>;
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
                local_packages: vec!["tool-1.0-1.x86_64".into()],
                replaced_packages: vec![PackageChange {
                    name: "mesa".into(),
                    arch: "x86_64".into(),
                    old_evr: "25.0-1.fc41".into(),
                    new_evr: "25.1-1.fc41".into(),
                }],
                removed_packages: vec!["firefox".into()],
                package_count: 1_874,
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
                advisories: vec![Advisory {
                    id: "FEDORA-2026-1a2b3c".into(),
                    severity: 3,
                    packages: vec!["kernel-6.11.5-300.fc41.x86_64".into()],
                }],
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
            pending_update: Some("keeldemo-abc.0".into()),
            history_mark: 1_234,
        }
    }

    /// Encodes one type and decodes another of the same signature.
    fn over_dbus_as<R: serde::Serialize + Type, T: for<'de> serde::Deserialize<'de> + Type>(
        record: &R,
    ) -> T {
        let ctxt = zbus::zvariant::serialized::Context::new_dbus(zbus::zvariant::LE, 0);
        let data = zbus::zvariant::to_bytes(ctxt, record).unwrap();
        data.deserialize().unwrap().0
    }

    fn trip<M, R>(model: &M) -> M
    where
        M: Clone + Into<R>,
        R: Into<M> + serde::Serialize + for<'de> serde::Deserialize<'de> + Type,
    {
        over_dbus_as::<R, R>(&model.clone().into()).into()
    }

    #[test]
    fn status_survives_the_trip_over_dbus() {
        assert_eq!(StatusRecord::SIGNATURE.to_string(), "a{sv}");
        let status = sample();
        assert_eq!(trip::<_, StatusRecord>(&status), status);
        let none = SystemStatus {
            cached_update: None,
            rollback_target: None,
            pending_update: None,
            capabilities: Capabilities::default(),
            ..sample()
        };
        assert_eq!(trip::<_, StatusRecord>(&none), none);
    }

    /// The keys are the ones data/dbus/README.md documents, and what is absent is left out.
    #[test]
    fn records_use_the_documented_keys() {
        type Dict = HashMap<String, zbus::zvariant::OwnedValue>;
        let keys = |dict: &Dict| -> Vec<String> {
            let mut keys: Vec<String> = dict.keys().cloned().collect();
            keys.sort();
            keys
        };
        let status: Dict = over_dbus_as(&StatusRecord::from(SystemStatus {
            cached_update: None,
            ..sample()
        }));
        assert_eq!(
            keys(&status),
            [
                "booted-emulated",
                "capabilities",
                "demo",
                "deployments",
                "driver",
                "history-mark",
                "os-name",
                "pending-update",
                "rollback-target",
                "sysroot"
            ]
        );
        let deployments =
            Vec::<Dict>::try_from(status["deployments"].try_clone().unwrap()).unwrap();
        let deployment = keys(&deployments[0]);
        for key in [
            "id",
            "base-checksum",
            "requested-packages",
            "layered-packages",
        ] {
            assert!(deployment.iter().any(|k| k == key), "{key} missing");
        }
        assert!(
            !deployment.iter().any(|k| k == "base-version"),
            "None is left out"
        );
    }

    #[test]
    fn apps_survive_the_trip_with_every_key() {
        let app = App {
            key: "user:app/org.test.Hello/x86_64/master".into(),
            reference: "app/org.test.Hello/x86_64/master".into(),
            kind: AppKind::App,
            id: "org.test.Hello".into(),
            name: "Hello".into(),
            installed_size: 2560,
            runtime: "runtime/org.test.Platform/x86_64/master".into(),
            update_commit: "ab12".into(),
            ..Default::default()
        };
        assert_eq!(trip::<_, AppRecord>(&app), app);
        type Dict = HashMap<String, zbus::zvariant::OwnedValue>;
        let dict: Dict = over_dbus_as(&AppRecord::from(App::default()));
        let mut keys: Vec<&str> = dict.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "arch",
                "branch",
                "broken",
                "commit",
                "end-of-life",
                "end-of-life-rebase",
                "icon",
                "id",
                "installation",
                "installed-size",
                "key",
                "kind",
                "name",
                "origin",
                "ref",
                "runtime",
                "summary",
                "unused",
                "update-commit",
                "version"
            ],
            "absent strings are \"\", never missing keys"
        );
        assert_eq!(<&str>::try_from(&dict["kind"]).unwrap(), "app");
    }

    #[test]
    fn history_and_config_diff_survive_the_trip() {
        let entry = HistoryEntry {
            time: 5,
            operation: crate::Operation::Update,
            from_version: Some("1".into()),
            to_version: None,
            success: false,
            message: "no".into(),
            diff: Some(PackageDiff::default()),
        };
        assert_eq!(trip::<_, HistoryRecord>(&entry), entry);
        let bare = HistoryEntry {
            diff: None,
            from_version: None,
            ..entry
        };
        assert_eq!(trip::<_, HistoryRecord>(&bare), bare);
        let diff = ConfigDiff {
            modified: vec!["motd".into()],
            added: vec![],
            removed: vec!["fstab".into()],
            unreadable: vec!["shadow".into()],
        };
        assert_eq!(trip::<_, ConfigDiffRecord>(&diff), diff);
        let estimate = CleanupEstimate {
            deployments: vec!["keeldemo-abc.1".into()],
            bytes: 1 << 40,
        };
        assert_eq!(trip::<_, CleanupEstimateRecord>(&estimate), estimate);
    }
}
