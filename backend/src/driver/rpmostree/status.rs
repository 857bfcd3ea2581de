//! rpm-ostreed's values as Keel's model: a deployment's `a{sv}`, the cached update with its
//! `rpm-diff` and advisories, and `GetDeploymentsRpmDiff`'s entries. Keys the daemon leaves out,
//! or sends empty (`@a{sv} {}`), are simply absent here; a key of an unexpected type is treated as
//! absent rather than failing the whole status.

use zbus::zvariant::Value;

use super::proxy::{Dict, RpmDiff};
use crate::model::{Advisory, Deployment, Update};
use crate::packages::{Package, PackageChange, PackageDiff};

/// A variant's content: `v` wrappers are looked through.
fn inner<'a>(value: &'a Value<'a>) -> &'a Value<'a> {
    match value {
        Value::Value(boxed) => inner(boxed),
        other => other,
    }
}

fn text(value: &Value<'_>) -> Option<String> {
    match inner(value) {
        Value::Str(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

fn number(value: &Value<'_>) -> Option<u64> {
    match inner(value) {
        Value::U64(n) => Some(*n),
        Value::U32(n) => Some(u64::from(*n)),
        Value::I32(n) => u64::try_from(*n).ok(),
        Value::I64(n) => u64::try_from(*n).ok(),
        _ => None,
    }
}

fn items<'a>(value: &'a Value<'a>) -> &'a [Value<'a>] {
    match inner(value) {
        Value::Array(array) => array.inner(),
        _ => &[],
    }
}

fn fields<'a>(value: &'a Value<'a>) -> &'a [Value<'a>] {
    match inner(value) {
        Value::Structure(s) => s.fields(),
        _ => &[],
    }
}

fn field_text(s: &[Value<'_>], i: usize) -> String {
    s.get(i).and_then(text).unwrap_or_default()
}

/// Reads one key of a dict.
pub(super) struct Keys<'a>(pub &'a Dict);

impl Keys<'_> {
    pub fn text(&self, key: &str) -> Option<String> {
        self.0.get(key).and_then(|v| text(v))
    }

    pub fn number(&self, key: &str) -> Option<u64> {
        self.0.get(key).and_then(|v| number(v))
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.0.get(key).map(|v| inner(v)), Some(Value::Bool(true)))
    }

    pub fn texts(&self, key: &str) -> Vec<String> {
        self.0
            .get(key)
            .map(|v| items(v).iter().filter_map(text).collect())
            .unwrap_or_default()
    }

    fn value(&self, key: &str) -> Option<&Value<'_>> {
        self.0.get(key).map(|v| &**v)
    }
}

/// A package as rpm-ostreed's deployments carry one: `(sstsss)` nevra, name, epoch, version,
/// release, arch.
fn nevra_package(value: &Value<'_>) -> Option<Package> {
    let f = fields(value);
    let epoch = f.get(2).and_then(number).unwrap_or(0).to_string();
    (f.len() >= 6).then(|| {
        Package::new(
            &field_text(f, 1),
            &epoch,
            &field_text(f, 3),
            &field_text(f, 4),
            &field_text(f, 5),
        )
    })
}

/// One of the daemon's deployments, at `index` in boot order; the roles that depend on the others
/// (pending, rollback) are set by the caller.
pub(super) fn deployment(dict: &Dict, index: usize) -> Deployment {
    let keys = Keys(dict);
    let removed = keys
        .value("base-removals")
        .map(|v| {
            items(v)
                .iter()
                .filter_map(|p| nevra_package(p).map(|p| p.name).or_else(|| text(p)))
                .collect()
        })
        .unwrap_or_default();
    // `a(vv)`: (the package in its place, the image's own).
    let replaced = keys
        .value("base-local-replacements")
        .map(|v| {
            items(v)
                .iter()
                .filter_map(|pair| {
                    let f = fields(pair);
                    let new = nevra_package(f.first()?)?;
                    let old = nevra_package(f.get(1)?)?;
                    Some(PackageChange {
                        old_evr: old.evr(),
                        new_evr: new.evr(),
                        name: new.name,
                        arch: new.arch,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Deployment {
        id: keys.text("id").unwrap_or_default(),
        index: index as u32,
        osname: keys.text("osname").unwrap_or_default(),
        checksum: keys.text("checksum").unwrap_or_default(),
        serial: keys
            .value("serial")
            .and_then(|v| match inner(v) {
                Value::I32(n) => Some(*n),
                _ => None,
            })
            .unwrap_or(0),
        version: keys.text("version"),
        timestamp: keys.number("timestamp").unwrap_or(0),
        origin: keys.text("origin"),
        container_image: keys.text("container-image-reference"),
        booted: keys.flag("booted"),
        staged: keys.flag("staged"),
        default: index == 0,
        pending: false,
        rollback: false,
        pinned: keys.flag("pinned"),
        base_checksum: keys.text("base-checksum"),
        base_version: keys.text("base-version"),
        requested_packages: keys.texts("requested-packages"),
        layered_packages: keys.texts("packages"),
        local_packages: keys.texts("requested-local-packages"),
        replaced_packages: replaced,
        removed_packages: removed,
        package_count: 0,
    }
}

/// Every deployment in boot order, with pending (before the booted one) and rollback (the first
/// of the same OS after it) as libostree's `query_deployments_for` decides them.
pub(super) fn deployments(list: &[Dict]) -> Vec<Deployment> {
    let mut out: Vec<Deployment> = list
        .iter()
        .enumerate()
        .map(|(i, d)| deployment(d, i))
        .collect();
    if let Some(booted) = out.iter().position(|d| d.booted) {
        let osname = out[booted].osname.clone();
        for d in out.iter_mut().take(booted) {
            d.pending = d.osname == osname;
        }
        if let Some(d) = out.iter_mut().skip(booted + 1).find(|d| d.osname == osname) {
            d.rollback = true;
        }
    }
    out
}

/// `(evr, arch)` of the cached update's `rpm-diff`.
fn evr_arch(value: &Value<'_>) -> (String, String) {
    let f = fields(value);
    (field_text(f, 0), field_text(f, 1))
}

/// Splits rpm's `epoch:version-release` into a package.
pub(super) fn package_from_evr(name: &str, evr: &str, arch: &str) -> Package {
    let (epoch, rest) = evr.split_once(':').unwrap_or(("0", evr));
    let (version, release) = rest.rsplit_once('-').unwrap_or((rest, ""));
    Package::new(name, epoch, version, release, arch)
}

/// The cached update's `rpm-diff`: `upgraded`/`downgraded` as `a(us(ss)(ss))` and `added`/`removed`
/// as `a(usss)`, the leading `u` being the package's kind (base or layered), not the change.
fn cached_rpm_diff(dict: &Value<'_>) -> PackageDiff {
    let mut diff = PackageDiff::default();
    let Value::Dict(d) = inner(dict) else {
        return diff;
    };
    let list = |key: &str| -> &[Value<'_>] {
        d.iter()
            .find(|(k, _)| text(k).as_deref() == Some(key))
            .map(|(_, v)| items(v))
            .unwrap_or(&[])
    };
    for (key, into) in [("upgraded", 0), ("downgraded", 1)] {
        for entry in list(key) {
            let f = fields(entry);
            let (old_evr, arch) = f.get(2).map(evr_arch).unwrap_or_default();
            let (new_evr, _) = f.get(3).map(evr_arch).unwrap_or_default();
            let change = PackageChange {
                name: field_text(f, 1),
                arch,
                old_evr,
                new_evr,
            };
            if into == 0 {
                diff.upgraded.push(change);
            } else {
                diff.downgraded.push(change);
            }
        }
    }
    for (key, added) in [("added", true), ("removed", false)] {
        for entry in list(key) {
            let f = fields(entry);
            let p = package_from_evr(&field_text(f, 1), &field_text(f, 2), &field_text(f, 3));
            if added {
                diff.added.push(p);
            } else {
                diff.removed.push(p);
            }
        }
    }
    diff
}

/// `advisories` `a(suuasa{sv})`: id, kind, severity, the NEVRAs it covers, more; most severe first.
fn advisories(value: &Value<'_>) -> Vec<Advisory> {
    let mut list: Vec<Advisory> = items(value)
        .iter()
        .map(|a| {
            let f = fields(a);
            Advisory {
                id: field_text(f, 0),
                severity: f.get(2).and_then(number).unwrap_or(0) as u32,
                packages: f
                    .get(3)
                    .map(|p| items(p).iter().filter_map(text).collect())
                    .unwrap_or_default(),
            }
        })
        .collect();
    list.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id)));
    list
}

/// `OS.CachedUpdate`; None when it is empty (`@a{sv} {}`).
pub(super) fn cached_update(dict: &Dict) -> Option<Update> {
    let keys = Keys(dict);
    let checksum = keys.text("checksum")?;
    Some(Update {
        version: keys.text("version"),
        checksum,
        timestamp: keys.number("timestamp").unwrap_or(0),
        diff: keys
            .value("rpm-diff")
            .map(cached_rpm_diff)
            .unwrap_or_default(),
        downloaded: false,
        advisories: keys.value("advisories").map(advisories).unwrap_or_default(),
    })
}

/// `GetDeploymentsRpmDiff`'s `a(sua{sv})`: the `u` is the change (0 added, 1 removed, 2 upgraded,
/// 3 downgraded), the packages are `PreviousPackage`/`NewPackage` as (name, evr, arch).
pub(super) fn deployments_diff(entries: &RpmDiff) -> PackageDiff {
    let mut diff = PackageDiff::default();
    for (name, change, details) in entries {
        let keys = Keys(details);
        let package = |key: &str| {
            keys.value(key).map(|v| {
                let f = fields(v);
                package_from_evr(name, &field_text(f, 1), &field_text(f, 2))
            })
        };
        let (old, new) = (package("PreviousPackage"), package("NewPackage"));
        match (change, old, new) {
            (0, _, Some(p)) => diff.added.push(p),
            (1, Some(p), _) => diff.removed.push(p),
            (2 | 3, Some(old), Some(new)) => {
                let c = PackageChange {
                    name: name.clone(),
                    arch: new.arch.clone(),
                    old_evr: old.evr(),
                    new_evr: new.evr(),
                };
                if *change == 2 {
                    diff.upgraded.push(c);
                } else {
                    diff.downgraded.push(c);
                }
            }
            _ => tracing::debug!("ignoring an rpm-diff entry of unknown shape for {name}"),
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use zbus::zvariant::{OwnedValue, StructureBuilder};

    use super::*;

    fn owned(value: Value<'_>) -> OwnedValue {
        value.try_into_owned().unwrap()
    }

    fn dict(pairs: Vec<(&str, Value<'_>)>) -> Dict {
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), owned(v)))
            .collect()
    }

    /// `(sstsss)`, as rpm-ostreed describes a package of a deployment.
    fn nevra(name: &str, epoch: u64, version: &str, release: &str) -> Value<'static> {
        let nevra = format!("{name}-{version}-{release}.x86_64");
        Value::Structure(
            StructureBuilder::new()
                .add_field(nevra)
                .add_field(name.to_owned())
                .add_field(epoch)
                .add_field(version.to_owned())
                .add_field(release.to_owned())
                .add_field("x86_64".to_owned())
                .build()
                .unwrap(),
        )
    }

    #[test]
    fn a_deployment_with_overrides_and_a_container_origin() {
        let replacement = Value::Structure(
            StructureBuilder::new()
                .add_field(Value::Value(Box::new(nevra("mesa", 0, "25.1", "1.fc41"))))
                .add_field(Value::Value(Box::new(nevra("mesa", 0, "25.0", "3.fc41"))))
                .build()
                .unwrap(),
        );
        let d = dict(vec![
            ("id", Value::from("fedora-abc.0")),
            ("osname", Value::from("fedora")),
            ("checksum", Value::from("abc")),
            ("serial", Value::I32(0)),
            ("timestamp", Value::U64(5)),
            ("booted", Value::Bool(true)),
            ("staged", Value::Bool(false)),
            ("pinned", Value::Bool(true)),
            (
                "container-image-reference",
                Value::from("ostree-image-signed:docker://ghcr.io/ublue-os/bluefin:stable"),
            ),
            ("packages", Value::from(vec!["htop"])),
            ("requested-packages", Value::from(vec!["htop", "fish"])),
            (
                "requested-local-packages",
                Value::from(vec!["tool-1.0-1.x86_64"]),
            ),
            (
                "base-removals",
                Value::from(vec![Value::Value(Box::new(nevra(
                    "firefox", 0, "133.0", "1.fc41",
                )))]),
            ),
            ("base-local-replacements", Value::from(vec![replacement])),
        ]);
        let deployment = deployment(&d, 0);
        assert_eq!(deployment.origin, None);
        assert_eq!(
            deployment.container_image.as_deref(),
            Some("ostree-image-signed:docker://ghcr.io/ublue-os/bluefin:stable")
        );
        assert!(deployment.booted && deployment.pinned && deployment.default);
        assert_eq!(deployment.layered_packages, ["htop"]);
        assert_eq!(deployment.requested_packages, ["htop", "fish"]);
        assert_eq!(deployment.local_packages, ["tool-1.0-1.x86_64"]);
        assert_eq!(deployment.removed_packages, ["firefox"]);
        assert_eq!(
            deployment.replaced_packages,
            [PackageChange {
                name: "mesa".into(),
                arch: "x86_64".into(),
                old_evr: "25.0-3.fc41".into(),
                new_evr: "25.1-1.fc41".into(),
            }]
        );
    }

    #[test]
    fn roles_follow_the_booted_deployment() {
        let d = |checksum: &str, booted: bool| {
            dict(vec![
                ("checksum", Value::from(checksum.to_owned())),
                ("osname", Value::from("fedora")),
                ("booted", Value::Bool(booted)),
            ])
        };
        let list = deployments(&[d("new", false), d("now", true), d("old", false)]);
        let roles: Vec<_> = list
            .iter()
            .map(|d| (d.pending, d.booted, d.rollback))
            .collect();
        assert_eq!(
            roles,
            [
                (true, false, false),
                (false, true, false),
                (false, false, true)
            ]
        );
    }

    /// The two encodings the recordings show: the cached update's `rpm-diff` (the `u` is the
    /// package's kind) and GetDeploymentsRpmDiff's (the `u` is the change).
    #[test]
    fn both_rpm_diff_encodings() {
        let evr_arch = |evr: &str| {
            Value::Structure(
                StructureBuilder::new()
                    .add_field(evr.to_owned())
                    .add_field("x86_64".to_owned())
                    .build()
                    .unwrap(),
            )
        };
        let upgraded = Value::Structure(
            StructureBuilder::new()
                .add_field(0u32)
                .add_field("fakeapp".to_owned())
                .add_field(evr_arch("1.0-1"))
                .add_field(evr_arch("1.1-1"))
                .build()
                .unwrap(),
        );
        let added = Value::Structure(
            StructureBuilder::new()
                .add_field(0u32)
                .add_field("fakenew".to_owned())
                .add_field("1:2.0-1".to_owned())
                .add_field("x86_64".to_owned())
                .build()
                .unwrap(),
        );
        let mut diff = zbus::zvariant::Dict::new(
            &zbus::zvariant::Signature::Str,
            &zbus::zvariant::Signature::Variant,
        );
        diff.add(
            "upgraded",
            Value::Value(Box::new(Value::from(vec![upgraded]))),
        )
        .unwrap();
        diff.add("added", Value::Value(Box::new(Value::from(vec![added]))))
            .unwrap();
        let update = dict(vec![
            ("checksum", Value::from("def")),
            ("version", Value::from("2.0")),
            ("rpm-diff", Value::Dict(diff)),
        ]);
        let update = cached_update(&update).expect("an update");
        assert_eq!(update.version.as_deref(), Some("2.0"));
        assert_eq!(update.diff.upgraded[0].old_evr, "1.0-1");
        assert_eq!(update.diff.upgraded[0].new_evr, "1.1-1");
        assert_eq!(update.diff.added[0].nevra(), "fakenew-1:2.0-1.x86_64");
        assert!(
            cached_update(&Dict::new()).is_none(),
            "@a{{sv}} {{}} is no update"
        );

        let package = |evr: &str| {
            Value::Structure(
                StructureBuilder::new()
                    .add_field("fakeapp".to_owned())
                    .add_field(evr.to_owned())
                    .add_field("x86_64".to_owned())
                    .build()
                    .unwrap(),
            )
        };
        let entries: RpmDiff = vec![
            (
                "fakeapp".into(),
                2,
                dict(vec![
                    ("PreviousPackage", package("1.0-1")),
                    ("NewPackage", package("1.1-1")),
                ]),
            ),
            (
                "fakeold".into(),
                1,
                dict(vec![("PreviousPackage", package("1-1"))]),
            ),
        ];
        let diff = deployments_diff(&entries);
        assert_eq!(diff.upgraded[0].new_evr, "1.1-1");
        assert_eq!(diff.removed[0].name, "fakeold");
        assert!(diff.added.is_empty() && diff.downgraded.is_empty());
    }
}
