//! Package lists as OSTree commits carry them.
//!
//! Fedora's composes store the RPM database summary in the commit metadata key
//! `rpmostree.rpmdb.pkglist` as `a(sssss)` — name, epoch, version, release, arch. Keel reads the same
//! key, so a diff works on real Fedora commits and on Keel's demo commits alike.

use keel_api::i18n::{fill, gettext};
use ostree::glib;

use crate::packages::{Package, PackageTuple};

/// The commit metadata key holding the package list.
pub const PKGLIST_KEY: &str = "rpmostree.rpmdb.pkglist";

/// Reads an `a(sssss)` package list; anything else is reported, not guessed at.
pub fn pkglist_from_variant(value: &glib::Variant) -> Result<Vec<Package>, String> {
    let list: Vec<PackageTuple> = value.get().ok_or_else(|| {
        fill(
            // Translators: a damaged commit; {key} is the metadata key, {type} and a(sssss) are
            // GVariant types.
            &gettext("{key} has type {type} instead of a(sssss)"),
            &[("key", PKGLIST_KEY), ("type", value.type_().as_str())],
        )
    })?;
    Ok(list.into_iter().map(Package::from).collect())
}

pub fn pkglist_to_variant(packages: &[Package]) -> glib::Variant {
    let mut sorted: Vec<&Package> = packages.iter().collect();
    sorted.sort();
    let tuples: Vec<PackageTuple> = sorted.into_iter().map(PackageTuple::from).collect();
    glib::prelude::ToVariant::to_variant(&tuples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkglist_round_trips_through_a_variant() {
        let list = vec![
            Package::new("zsh", "0", "5.9", "15.fc41", "x86_64"),
            Package::new("bash", "0", "5.2.32", "1.fc41", "x86_64"),
        ];
        let variant = pkglist_to_variant(&list);
        assert_eq!(variant.type_().as_str(), "a(sssss)");
        let back = pkglist_from_variant(&variant).unwrap();
        assert_eq!(back[0].name, "bash", "stored sorted, as rpm-ostree does");
        assert_eq!(back.len(), 2);
        let wrong = glib::prelude::ToVariant::to_variant(&vec!["bash".to_owned()]);
        assert!(
            pkglist_from_variant(&wrong)
                .unwrap_err()
                .contains("a(sssss)")
        );
    }
}
