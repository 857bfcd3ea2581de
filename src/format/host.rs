//! Words for what only some systems have: rpm-ostree's advisories, base-package overrides and
//! container-image origins, and which program manages the system shown.

use gettextrs::{gettext, ngettext};
use keel_api::i18n::fill;
use keel_api::model::{Advisory, Deployment, SystemStatus};

/// A container image as people know it, without the transport rpm-ostree puts in front
/// (`ostree-image-signed:docker://ghcr.io/ublue-os/bluefin:stable` → `ghcr.io/ublue-os/bluefin:stable`).
pub fn image_name(reference: &str) -> &str {
    if let Some((_, image)) = reference.rsplit_once("://") {
        return image;
    }
    // `ostree-unverified-registry:quay.io/…` names no scheme, only a transport.
    match reference.split_once(':') {
        Some((transport, image)) if transport.starts_with("ostree-") => image,
        _ => reference,
    }
}

/// Where a deployment comes from: its refspec, or the container image it follows.
pub fn origin(d: &Deployment) -> String {
    match (&d.origin, &d.container_image) {
        (Some(origin), _) => origin.clone(),
        (None, Some(image)) => image_name(image).to_owned(),
        (None, None) => String::new(),
    }
}

/// The part of a deployment's row subtitle about what differs from its image: layered packages
/// (local RPM files included) and base packages replaced or removed. Empty parts are left out.
pub fn changes_to_image(d: &Deployment) -> Vec<String> {
    let mut facts = Vec::new();
    let layered = (d.layered_packages.len() + d.local_packages.len()) as u32;
    if layered > 0 {
        facts.push(
            ngettext("{} layered package", "{} layered packages", layered)
                .replace("{}", &layered.to_string()),
        );
    }
    let overridden = (d.replaced_packages.len() + d.removed_packages.len()) as u32;
    if overridden > 0 {
        facts.push(
            // Translators: base packages of the image replaced or removed (rpm-ostree override).
            ngettext(
                "{} base package overridden",
                "{} base packages overridden",
                overridden,
            )
            .replace("{}", &overridden.to_string()),
        );
    }
    facts
}

/// One line per change a deployment makes to its image beyond layered packages: base packages
/// replaced or removed, packages layered from local files; as (title, subtitle).
pub fn override_lines(d: &Deployment) -> Vec<(String, String)> {
    let replaced = d.replaced_packages.iter().map(|p| {
        let versions = fill(
            // Translators: a base package replaced by another version; {old} and {new} are
            // versions ("25.0.1-1.fc41").
            &gettext("Replaced: {old} → {new}"),
            &[("old", &p.old_evr), ("new", &p.new_evr)],
        );
        (p.name.clone(), versions)
    });
    let removed = d
        .removed_packages
        .iter()
        .map(|name| (name.clone(), gettext("Removed from the image")));
    let local = d.local_packages.iter().map(|nevra| {
        (
            package_name(nevra).to_owned(),
            gettext("Layered from a local file"),
        )
    });
    replaced.chain(removed).chain(local).collect()
}

/// The Advisories row's title and subtitle: how many errata the update fixes, and how many of
/// each severity, most severe first. None when it lists none.
pub fn advisories_summary(advisories: &[Advisory]) -> Option<(String, String)> {
    if advisories.is_empty() {
        return None;
    }
    let n = advisories.len() as u32;
    // Translators: errata (security and bug fix notices) an OS update fixes.
    let title =
        ngettext("Fixes {} advisory", "Fixes {} advisories", n).replace("{}", &n.to_string());
    let mut counts: Vec<(u32, usize)> = Vec::new();
    for a in advisories {
        match counts
            .iter_mut()
            .find(|(severity, _)| *severity == a.severity)
        {
            Some((_, count)) => *count += 1,
            None => counts.push((a.severity, 1)),
        }
    }
    // Unrated (0) last: it is the least telling.
    counts.sort_by_key(|&(severity, _)| {
        std::cmp::Reverse(if severity == 0 { 0 } else { severity + 1 })
    });
    let parts: Vec<String> = counts
        .iter()
        .map(|&(severity, count)| {
            let name = Advisory {
                severity,
                ..Default::default()
            }
            .severity_name();
            fill(
                // Translators: {count} advisories of severity {severity}, e.g. "2 important".
                &gettext("{count} {severity}"),
                &[("count", &count.to_string()), ("severity", &name)],
            )
        })
        .collect();
    Some((title, parts.join(" · ")))
}

/// Which style marks a severity: critical and important stand out, the rest does not.
pub fn severity_style(severity: u32) -> Option<&'static str> {
    match severity {
        4 => Some("error"),
        3 => Some("warning"),
        _ => None,
    }
}

/// The packages an advisory covers, for its row: the first few names, then how many more.
pub fn advisory_packages(advisory: &Advisory) -> String {
    const SHOWN: usize = 3;
    let names: Vec<&str> = advisory
        .packages
        .iter()
        .take(SHOWN)
        .map(|nevra| package_name(nevra))
        .collect();
    let rest = advisory.packages.len().saturating_sub(SHOWN) as u32;
    let list = names.join(", ");
    if rest == 0 {
        return list;
    }
    fill(
        // Translators: {list} is a few package names, {count} how many more there are.
        &ngettext("{list} and {count} more", "{list} and {count} more", rest),
        &[("list", &list), ("count", &rest.to_string())],
    )
}

/// A package's name from its NEVRA (`openssl-libs-1:3.2.2-3.fc41.x86_64` → `openssl-libs`).
fn package_name(nevra: &str) -> &str {
    // Name-[epoch:]version-release.arch: the name ends before the second dash from the end.
    let mut dashes = nevra.rmatch_indices('-').map(|(i, _)| i);
    match (dashes.next(), dashes.next()) {
        (Some(_), Some(end)) => &nevra[..end],
        _ => nevra,
    }
}

/// The Updates heading's description: which system the window shows and who manages it.
pub fn managed_by(status: &SystemStatus) -> String {
    // The banner above names the folder of a demo or test sysroot; this says what it is.
    let place = if status.demo {
        gettext("Keel’s demo system")
    } else if status.booted_emulated {
        gettext("A sysroot that is not running")
    } else {
        gettext("This computer")
    };
    let manager = match status.driver.as_str() {
        // Translators: the program that manages the system shown; rpm-ostree is a name.
        "rpm-ostree" => gettext("managed by rpm-ostree"),
        // Translators: Keel itself changes the system, with the libostree library.
        _ => gettext("managed by Keel with libostree"),
    };
    format!("{place} · {manager}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_api::packages::PackageChange;

    fn advisory(id: &str, severity: u32, packages: &[&str]) -> Advisory {
        Advisory {
            id: id.to_owned(),
            severity,
            packages: packages.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn container_images_lose_their_transport() {
        for (reference, image) in [
            (
                "ostree-image-signed:docker://ghcr.io/ublue-os/bluefin:stable",
                "ghcr.io/ublue-os/bluefin:stable",
            ),
            (
                "ostree-unverified-registry:quay.io/fedora/fedora-silverblue:41",
                "quay.io/fedora/fedora-silverblue:41",
            ),
            (
                "ostree-remote-image:fedora:docker://quay.io/fedora/fedora-kinoite:41",
                "quay.io/fedora/fedora-kinoite:41",
            ),
            ("quay.io/x/y:1", "quay.io/x/y:1"),
        ] {
            assert_eq!(image_name(reference), image);
        }
        let d = Deployment {
            container_image: Some(
                "ostree-image-signed:docker://ghcr.io/ublue-os/bazzite:stable".into(),
            ),
            ..Default::default()
        };
        assert_eq!(origin(&d), "ghcr.io/ublue-os/bazzite:stable");
        let refspec = Deployment {
            origin: Some("fedora:fedora/41/x86_64/silverblue".into()),
            ..d
        };
        assert_eq!(origin(&refspec), "fedora:fedora/41/x86_64/silverblue");
    }

    #[test]
    fn changes_to_the_image_count_local_packages_and_overrides() {
        assert!(changes_to_image(&Deployment::default()).is_empty());
        let d = Deployment {
            layered_packages: vec!["htop".into()],
            local_packages: vec!["tool-1.0-1.x86_64".into()],
            replaced_packages: vec![PackageChange {
                name: "mesa".into(),
                arch: "x86_64".into(),
                old_evr: "25.0.1-1".into(),
                new_evr: "25.0.2-1".into(),
            }],
            removed_packages: vec!["firefox".into(), "nano".into()],
            ..Default::default()
        };
        assert_eq!(
            changes_to_image(&d),
            ["2 layered packages", "3 base packages overridden"]
        );
    }

    #[test]
    fn overrides_say_what_happened_to_each_package() {
        let d = Deployment {
            replaced_packages: vec![PackageChange {
                name: "mesa-dri-drivers".into(),
                arch: "x86_64".into(),
                old_evr: "25.0.1-1.fc41".into(),
                new_evr: "25.0.2-1.fc41".into(),
            }],
            removed_packages: vec!["firefox".into()],
            local_packages: vec!["tool-1.0-1.fc41.x86_64".into()],
            layered_packages: vec!["htop".into()],
            ..Default::default()
        };
        let lines = override_lines(&d);
        let expect = [
            (
                "mesa-dri-drivers",
                "Replaced: 25.0.1-1.fc41 → 25.0.2-1.fc41",
            ),
            ("firefox", "Removed from the image"),
            ("tool", "Layered from a local file"),
        ];
        assert_eq!(lines.len(), expect.len());
        for ((title, subtitle), (t, s)) in lines.iter().zip(expect) {
            assert_eq!((title.as_str(), subtitle.as_str()), (t, s));
        }
    }

    #[test]
    fn advisories_are_counted_most_severe_first() {
        assert_eq!(advisories_summary(&[]), None);
        let list = [
            advisory("FEDORA-2026-1", 0, &[]),
            advisory("FEDORA-2026-2", 3, &[]),
            advisory("FEDORA-2026-3", 4, &[]),
            advisory("FEDORA-2026-4", 3, &[]),
            advisory("FEDORA-2026-5", 1, &[]),
        ];
        let (title, subtitle) = advisories_summary(&list).unwrap();
        assert_eq!(title, "Fixes 5 advisories");
        assert_eq!(subtitle, "1 critical · 2 important · 1 low · 1 unrated");
        assert_eq!(severity_style(4), Some("error"));
        assert_eq!(severity_style(2), None);
    }

    #[test]
    fn an_advisory_names_a_few_packages() {
        let one = advisory("A", 4, &["openssl-libs-1:3.2.2-3.fc41.x86_64"]);
        assert_eq!(advisory_packages(&one), "openssl-libs");
        let many = advisory(
            "B",
            2,
            &[
                "a-1-1.x86_64",
                "b-c-2-1.noarch",
                "d-3-1.x86_64",
                "e-4-1.x86_64",
                "f-5-1.x86_64",
            ],
        );
        assert_eq!(advisory_packages(&many), "a, b-c, d and 2 more");
    }

    #[test]
    fn the_system_says_who_manages_it() {
        let mut status = SystemStatus {
            driver: "rpm-ostree".into(),
            sysroot: "/".into(),
            ..Default::default()
        };
        assert_eq!(managed_by(&status), "This computer · managed by rpm-ostree");
        status.driver = "ostree".into();
        status.demo = true;
        status.sysroot = "/tmp/demo/sysroot".into();
        assert_eq!(
            managed_by(&status),
            "Keel’s demo system · managed by Keel with libostree"
        );
    }
}
