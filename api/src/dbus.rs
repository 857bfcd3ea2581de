//! The D-Bus API's names, and the model as D-Bus values: extensible records are `a{sv}` with
//! kebab-case keys, packages are `(sssss)` like Fedora's `rpmostree.rpmdb.pkglist`. Documented in
//! data/dbus/README.md.

use std::collections::HashMap;

use zbus::zvariant::{OwnedValue, Value};

use crate::model::{ConfigDiff, Deployment, HistoryEntry, SystemStatus, Update};
use crate::packages::{Package, PackageChange, PackageDiff};

pub const BUS_NAME: &str = "io.github.keelapp.Keel.Backend";
pub const OBJECT_PATH: &str = "/io/github/keelapp/Keel/Backend";
pub const INTERFACE: &str = "io.github.keelapp.Keel.Backend1";
pub const TRANSACTION_INTERFACE: &str = "io.github.keelapp.Keel.Backend1.Transaction";
pub const ERROR_PREFIX: &str = "io.github.keelapp.Keel.Backend1.Error";

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

fn package(p: &Package) -> (String, String, String, String, String) {
    (
        p.name.clone(),
        p.epoch.clone(),
        p.version.clone(),
        p.release.clone(),
        p.arch.clone(),
    )
}

fn packages(list: &[Package]) -> Vec<(String, String, String, String, String)> {
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
        .build()
}

pub fn config_diff(c: &ConfigDiff) -> Dict {
    Builder::default()
        .put("modified", c.modified.clone())
        .put("added", c.added.clone())
        .put("removed", c.removed.clone())
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
