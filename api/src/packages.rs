//! Packages as rpm names them, and the differences between two package lists.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use zbus::zvariant::Type;

use crate::i18n::{fill, gettext, ngettext, plural_count};

/// On D-Bus a `(sssss)`, as in `rpmostree.rpmdb.pkglist`; in JSON an object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Type)]
pub struct Package {
    pub name: String,
    pub epoch: String,
    pub version: String,
    pub release: String,
    pub arch: String,
}

impl Package {
    pub fn new(name: &str, epoch: &str, version: &str, release: &str, arch: &str) -> Self {
        Self {
            name: name.to_owned(),
            epoch: epoch.to_owned(),
            version: version.to_owned(),
            release: release.to_owned(),
            arch: arch.to_owned(),
        }
    }

    /// `epoch:version-release`, with the epoch left out when it is zero, as rpm prints it.
    pub fn evr(&self) -> String {
        if self.epoch.is_empty() || self.epoch == "0" {
            format!("{}-{}", self.version, self.release)
        } else {
            format!("{}:{}-{}", self.epoch, self.version, self.release)
        }
    }

    pub fn nevra(&self) -> String {
        format!("{}-{}.{}", self.name, self.evr(), self.arch)
    }

    /// Orders two builds of the same package the way rpm does: epoch, then version, then release.
    pub fn compare_evr(&self, other: &Self) -> Ordering {
        let epoch = |p: &Self| p.epoch.parse::<u64>().unwrap_or(0);
        epoch(self)
            .cmp(&epoch(other))
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| rpmvercmp(&self.release, &other.release))
    }
}

/// A package as `rpmostree.rpmdb.pkglist` and the D-Bus API carry it: (name, epoch, version,
/// release, arch).
pub type PackageTuple = (String, String, String, String, String);

impl From<PackageTuple> for Package {
    fn from((name, epoch, version, release, arch): PackageTuple) -> Self {
        Self {
            name,
            epoch,
            version,
            release,
            arch,
        }
    }
}

impl From<&Package> for PackageTuple {
    fn from(p: &Package) -> Self {
        (
            p.name.clone(),
            p.epoch.clone(),
            p.version.clone(),
            p.release.clone(),
            p.arch.clone(),
        )
    }
}

impl fmt::Display for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.nevra())
    }
}

/// rpm's version comparison: the strings are split into runs of digits and runs of letters (anything
/// else separates them); digit runs compare numerically and beat letter runs; `~` sorts before
/// everything (pre-releases) and `^` after the end of the string but before anything else.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    let is_sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while a.first().is_some_and(|&c| is_sep(c)) {
            a = &a[1..];
        }
        while b.first().is_some_and(|&c| is_sep(c)) {
            b = &b[1..];
        }
        // Tilde: whichever has it is older.
        match (a.first() == Some(&b'~'), b.first() == Some(&b'~')) {
            (true, true) => {
                a = &a[1..];
                b = &b[1..];
                continue;
            }
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        // Caret: newer than the plain end of the string, older than any further segment.
        match (a.first() == Some(&b'^'), b.first() == Some(&b'^')) {
            (true, true) => {
                a = &a[1..];
                b = &b[1..];
                continue;
            }
            (true, false) => {
                return if b.is_empty() {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
            }
            (false, true) => {
                return if a.is_empty() {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
            }
            _ => {}
        }
        if a.is_empty() || b.is_empty() {
            break;
        }
        let numeric = a[0].is_ascii_digit();
        let run = |s: &[u8]| {
            s.iter()
                .take_while(|c| {
                    if numeric {
                        c.is_ascii_digit()
                    } else {
                        c.is_ascii_alphabetic()
                    }
                })
                .count()
        };
        let (la, lb) = (run(a), run(b));
        let (seg_a, seg_b) = (&a[..la], &b[..lb]);
        if lb == 0 {
            // Different kinds of segment: a number is newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let order = if numeric {
            let trim =
                |s: &[u8]| -> Vec<u8> { s.iter().copied().skip_while(|&c| c == b'0').collect() };
            let (ta, tb) = (trim(seg_a), trim(seg_b));
            ta.len().cmp(&tb.len()).then_with(|| ta.cmp(&tb))
        } else {
            seg_a.cmp(seg_b)
        };
        if order != Ordering::Equal {
            return order;
        }
        a = &a[la..];
        b = &b[lb..];
    }
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// One package present on both sides with a different build; on D-Bus a `(ssss)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct PackageChange {
    pub name: String,
    pub arch: String,
    pub old_evr: String,
    pub new_evr: String,
}

/// What changes between two package lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageDiff {
    pub added: Vec<Package>,
    pub removed: Vec<Package>,
    pub upgraded: Vec<PackageChange>,
    pub downgraded: Vec<PackageChange>,
}

impl PackageDiff {
    /// Compares two lists, matching packages by name and architecture.
    pub fn between(old: &[Package], new: &[Package]) -> Self {
        let key = |p: &Package| (p.name.clone(), p.arch.clone());
        let old_map: BTreeMap<_, _> = old.iter().map(|p| (key(p), p)).collect();
        let new_map: BTreeMap<_, _> = new.iter().map(|p| (key(p), p)).collect();
        let mut diff = Self::default();
        for (k, was) in &old_map {
            match new_map.get(k) {
                None => diff.removed.push((*was).clone()),
                Some(now) => {
                    let change = || PackageChange {
                        name: now.name.clone(),
                        arch: now.arch.clone(),
                        old_evr: was.evr(),
                        new_evr: now.evr(),
                    };
                    match was.compare_evr(now) {
                        Ordering::Less => diff.upgraded.push(change()),
                        Ordering::Greater => diff.downgraded.push(change()),
                        Ordering::Equal => {}
                    }
                }
            }
        }
        diff.added = new_map
            .iter()
            .filter(|(k, _)| !old_map.contains_key(*k))
            .map(|(_, p)| (*p).clone())
            .collect();
        diff
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.upgraded.is_empty()
            && self.downgraded.is_empty()
    }

    /// A one-line account such as "12 upgraded, 1 added, 1 removed", in the reader's language.
    pub fn summary(&self) -> String {
        let n = |list: usize| plural_count(list as u64);
        let (up, down) = (self.upgraded.len(), self.downgraded.len());
        let (added, removed) = (self.added.len(), self.removed.len());
        let parts: Vec<String> = [
            // Translators: numbers of packages in a diff between two versions of the system, as
            // in "12 upgraded, 1 added, 1 removed".
            (up, ngettext("{count} upgraded", "{count} upgraded", n(up))),
            (
                down,
                ngettext("{count} downgraded", "{count} downgraded", n(down)),
            ),
            (added, ngettext("{count} added", "{count} added", n(added))),
            (
                removed,
                ngettext("{count} removed", "{count} removed", n(removed)),
            ),
        ]
        .into_iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, template)| fill(&template, &[("count", &count.to_string())]))
        .collect();
        if parts.is_empty() {
            gettext("no package changes")
        } else {
            parts.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpmvercmp_agrees_with_rpm() {
        use Ordering::*;
        // Cases from rpm's own behaviour (rpmdev-vercmp).
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0", Greater),
            ("5.5p1", "5.5p2", Less),
            ("5.5p10", "5.5p1", Greater),
            ("10xyz", "10.1xyz", Less),
            ("xyz10", "xyz10.1", Less),
            ("1.0aa", "1.0a", Greater),
            ("1.0a", "1.0", Greater),
            ("1.0", "1", Greater),
            ("2_0", "2.0", Equal),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~rc1~git1", "1.0~rc1", Less),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.0.1", Less),
            ("1.0^git1", "1.0^git2", Less),
            ("010", "10", Equal),
            ("a", "1", Less),
            ("6.11.4-301.fc41", "6.11.10-300.fc41", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(rpmvercmp(a, b), want, "{a} vs {b}");
            assert_eq!(rpmvercmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn evr_hides_zero_epoch() {
        assert_eq!(
            Package::new("bash", "0", "5.2.32", "1.fc41", "x86_64").evr(),
            "5.2.32-1.fc41"
        );
        assert_eq!(
            Package::new("vim-enhanced", "2", "9.1", "1.fc41", "x86_64").nevra(),
            "vim-enhanced-2:9.1-1.fc41.x86_64"
        );
    }

    #[test]
    fn diff_classifies_every_change() {
        let old = vec![
            Package::new("bash", "0", "5.2.26", "1.fc41", "x86_64"),
            Package::new("kernel", "0", "6.11.4", "301.fc41", "x86_64"),
            Package::new("nano", "0", "8.1", "1.fc41", "x86_64"),
            Package::new("glibc", "0", "2.40", "3.fc41", "x86_64"),
            Package::new("zlib", "0", "1.3", "1.fc41", "x86_64"),
        ];
        let new = vec![
            Package::new("bash", "0", "5.2.32", "1.fc41", "x86_64"),
            Package::new("kernel", "0", "6.11.10", "300.fc41", "x86_64"),
            Package::new("glibc", "0", "2.40", "2.fc41", "x86_64"),
            Package::new("zlib", "0", "1.3", "1.fc41", "x86_64"),
            Package::new("fastfetch", "0", "2.30", "1.fc41", "x86_64"),
        ];
        let diff = PackageDiff::between(&old, &new);
        let names = |v: &[PackageChange]| v.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&diff.upgraded), ["bash", "kernel"]);
        assert_eq!(names(&diff.downgraded), ["glibc"]);
        assert_eq!(diff.added[0].name, "fastfetch");
        assert_eq!(diff.removed[0].name, "nano");
        assert_eq!(diff.upgraded[1].old_evr, "6.11.4-301.fc41");
        assert_eq!(
            diff.summary(),
            "2 upgraded, 1 downgraded, 1 added, 1 removed"
        );
        assert!(PackageDiff::between(&new, &new).is_empty());
    }
}
