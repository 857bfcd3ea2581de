//! The Flatpak manifests ask for exactly the permissions Keel needs, each with its reason; they build
//! on the GNOME runtime with Rust and a pinned libostree; and `flatpak/cargo-sources.json` vendors
//! exactly the crates of `Cargo.lock`. No network: everything is read from the repository.

mod common;

use std::collections::BTreeSet;

use common::repo_path;
use serde_json::Value;

const MANIFEST: &str = "flatpak/io.github.keelapp.Keel.json";
const DEVEL_MANIFEST: &str = "flatpak/io.github.keelapp.Keel.Devel.json";

/// Everything Keel may ask of the sandbox; flatpak/README.md gives each one's reason. Adding to this
/// list is a decision for Flathub's review too, not a way to make this test pass.
const PERMISSIONS: &[&str] = &[
    "--share=ipc",
    "--socket=wayland",
    "--socket=fallback-x11",
    "--device=dri",
    "--system-talk-name=org.projectatomic.rpmostree1",
    "--system-talk-name=org.freedesktop.login1",
    "--talk-name=org.freedesktop.Flatpak",
    "--filesystem=/var/lib/flatpak:ro",
    "--filesystem=xdg-data/flatpak:ro",
];

/// The development build's id does not prefix the backend's bus name, so it must ask to own it.
const DEVEL_ONLY_PERMISSIONS: &[&str] = &["--own-name=io.github.keelapp.Keel.Backend.*"];

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_path(relative))
        .unwrap_or_else(|err| panic!("cannot read {relative}: {err}"))
}

/// The manifest's text without its comments: flatpak-builder's JSON reader (json-glib) accepts
/// `/* … */` and `// …`, serde_json does not.
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            ('/', Some('/')) => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

fn manifest(relative: &str) -> Value {
    serde_json::from_str(&without_comments(&read(relative)))
        .unwrap_or_else(|err| panic!("{relative} is not JSON (comments aside): {err}"))
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|item| item.as_str().expect("a string"))
        .collect()
}

fn module<'a>(manifest: &'a Value, name: &str) -> &'a Value {
    manifest["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|module| module["name"] == name)
        .unwrap_or_else(|| panic!("no module {name}"))
}

/// Whether the manifest `text` asks for exactly `allowed`, once each, with a comment just above each.
fn check_permissions(text: &str, allowed: &[&str]) -> Result<(), String> {
    let parsed: Value = serde_json::from_str(&without_comments(text)).map_err(|e| e.to_string())?;
    let asked = strings(&parsed["finish-args"]);
    let unique: BTreeSet<&str> = asked.iter().copied().collect();
    if unique.len() != asked.len() {
        return Err("a permission is asked for twice".into());
    }
    let wanted: BTreeSet<&str> = allowed.iter().copied().collect();
    let extra: Vec<_> = unique.difference(&wanted).collect();
    if !extra.is_empty() {
        return Err(format!(
            "asks for permissions Keel does not need: {extra:?}"
        ));
    }
    let missing: Vec<_> = wanted.difference(&unique).collect();
    if !missing.is_empty() {
        return Err(format!("lacks {missing:?}"));
    }
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for permission in asked {
        let at = lines
            .iter()
            .position(|line| line.trim_end_matches(',') == format!("\"{permission}\""))
            .ok_or_else(|| format!("{permission} is not on a line of its own"))?;
        if at == 0 || !lines[at - 1].ends_with("*/") {
            return Err(format!("{permission} has no comment above it saying why"));
        }
    }
    Ok(())
}

#[test]
fn flathub_manifest_asks_for_exactly_keels_permissions() {
    check_permissions(&read(MANIFEST), PERMISSIONS)
        .unwrap_or_else(|err| panic!("{MANIFEST}: {err}"));
}

#[test]
fn devel_manifest_asks_for_the_same_and_its_backend_name() {
    let allowed: Vec<&str> = PERMISSIONS
        .iter()
        .chain(DEVEL_ONLY_PERMISSIONS)
        .copied()
        .collect();
    check_permissions(&read(DEVEL_MANIFEST), &allowed)
        .unwrap_or_else(|err| panic!("{DEVEL_MANIFEST}: {err}"));
}

#[test]
fn the_permission_check_refuses_more_less_and_unexplained() {
    let text = read(MANIFEST);
    let last = "\"--filesystem=xdg-data/flatpak:ro\"";
    let broader = text.replace(
        last,
        &format!("{last},\n        /* everything */\n        \"--filesystem=home\""),
    );
    let err = check_permissions(&broader, PERMISSIONS).unwrap_err();
    assert!(err.contains("--filesystem=home"), "{err}");
    let fewer = text.replace("        \"--device=dri\",\n", "");
    let err = check_permissions(&fewer, PERMISSIONS).unwrap_err();
    assert!(err.contains("--device=dri"), "{err}");
    let unexplained = text.replace("/* GTK's GPU renderer */", "");
    let err = check_permissions(&unexplained, PERMISSIONS).unwrap_err();
    assert!(err.contains("--device=dri has no comment"), "{err}");
}

#[test]
fn comments_go_and_strings_stay() {
    let json = without_comments(r#"{"a": "/* kept */", /* gone */ "b": "x//y" // gone"#);
    assert_eq!(json, r#"{"a": "/* kept */",  "b": "x//y" "#);
}

#[test]
fn both_manifests_build_on_the_gnome_runtime_with_rust_and_libostree() {
    let release = manifest(MANIFEST);
    let devel = manifest(DEVEL_MANIFEST);
    assert_eq!(release["id"], "io.github.keelapp.Keel");
    assert_eq!(devel["id"], "io.github.keelapp.Keel.Devel");
    for (name, manifest, install) in [
        (MANIFEST, &release, "build-aux/install --prefix /app"),
        (
            DEVEL_MANIFEST,
            &devel,
            "build-aux/install --prefix /app --devel",
        ),
    ] {
        assert_eq!(manifest["runtime"], "org.gnome.Platform", "{name}");
        assert_eq!(manifest["sdk"], "org.gnome.Sdk", "{name}");
        assert_eq!(manifest["runtime-version"], release["runtime-version"]);
        assert_eq!(manifest["command"], "keel", "{name}");
        assert!(
            strings(&manifest["sdk-extensions"])
                .contains(&"org.freedesktop.Sdk.Extension.rust-stable"),
            "{name}"
        );
        let modules: Vec<&str> = manifest["modules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|module| module["name"].as_str().unwrap())
            .collect();
        assert_eq!(modules, ["libostree", "keel"], "{name}: libostree first");
        assert_pinned_libostree(name, module(manifest, "libostree"));

        let keel = module(manifest, "keel");
        assert_eq!(strings(&keel["build-commands"]), [install], "{name}");
        assert_eq!(keel["build-options"]["env"]["CARGO_NET_OFFLINE"], "true");
        let sources = keel["sources"].as_array().unwrap();
        assert!(
            sources.iter().any(|source| source == "cargo-sources.json"),
            "{name}: the crates come from cargo-sources.json"
        );
    }
}

/// libostree from a release tarball whose checksum is filled in (no placeholder).
fn assert_pinned_libostree(name: &str, libostree: &Value) {
    let sources = libostree["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 1, "{name}: one source for libostree");
    let tarball = &sources[0];
    assert_eq!(tarball["type"], "archive", "{name}: a release tarball");
    let url = tarball["url"].as_str().unwrap();
    let version = url
        .strip_prefix("https://github.com/ostreedev/ostree/releases/download/v")
        .and_then(|rest| rest.split_once('/'))
        .map(|(version, _)| version)
        .unwrap_or_else(|| panic!("{name}: not an ostree release: {url}"));
    assert!(
        url.ends_with(&format!("/libostree-{version}.tar.xz")),
        "{name}: {url}"
    );
    let sha256 = tarball["sha256"].as_str().unwrap_or_default();
    assert!(
        sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && sha256.bytes().any(|b| b != b'0'),
        "{name}: libostree's sha256 must be filled in (got {sha256:?})"
    );
}

#[test]
fn release_manifest_builds_the_tag_of_this_version() {
    let version = env!("CARGO_PKG_VERSION");
    let release = manifest(MANIFEST);
    let source = &module(&release, "keel")["sources"][0];
    assert_eq!(source["type"], "git");
    assert_eq!(
        source["tag"],
        format!("v{version}"),
        "bump the tag with the version"
    );
    let metainfo = read("data/io.github.keelapp.Keel.metainfo.xml");
    assert!(
        metainfo.contains(&format!("<release version=\"{version}\"")),
        "the metainfo has no release {version}"
    );
}

/// A crate as both files name it: name, version and sha256.
type Crate = (String, String, String);

/// The crates.io packages of Cargo.lock.
fn locked_crates() -> BTreeSet<Crate> {
    let lock = read("Cargo.lock");
    let mut crates = BTreeSet::new();
    for package in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            package.lines().find_map(|line| {
                let value = line.strip_prefix(key)?.strip_prefix(" = \"")?;
                Some(value.trim_end_matches('"').to_owned())
            })
        };
        let name = field("name").expect("every package has a name");
        match field("source").as_deref() {
            None => continue, // the workspace's own crates
            Some("registry+https://github.com/rust-lang/crates.io-index") => {}
            Some(other) => panic!(
                "{name} comes from {other}; check that flatpak-cargo-generator vendors it and teach this test"
            ),
        }
        let version = field("version").unwrap();
        let checksum = field("checksum").expect("crates.io packages have a checksum");
        crates.insert((name, version, checksum));
    }
    crates
}

#[test]
fn cargo_sources_are_in_step_with_cargo_lock() {
    let sources: Value = serde_json::from_str(&read("flatpak/cargo-sources.json")).unwrap();
    let mut vendored = BTreeSet::new();
    let mut checksum_files = BTreeSet::new();
    let mut has_config = false;
    for source in sources.as_array().unwrap() {
        let dest = source["dest"].as_str().unwrap();
        match source["type"].as_str().unwrap() {
            "archive" => {
                let url = source["url"].as_str().unwrap();
                let (name, file) = url
                    .strip_prefix("https://static.crates.io/crates/")
                    .and_then(|rest| rest.split_once('/'))
                    .unwrap_or_else(|| panic!("not a crates.io download: {url}"));
                let version = file
                    .strip_prefix(&format!("{name}-"))
                    .and_then(|rest| rest.strip_suffix(".crate"))
                    .unwrap_or_else(|| panic!("unexpected crate file: {url}"));
                assert_eq!(dest, format!("cargo/vendor/{name}-{version}"));
                let sha256 = source["sha256"].as_str().unwrap().to_owned();
                vendored.insert((name.to_owned(), version.to_owned(), sha256));
            }
            "inline" if source["dest-filename"] == ".cargo-checksum.json" => {
                let contents: Value =
                    serde_json::from_str(source["contents"].as_str().unwrap()).unwrap();
                let package = contents["package"].as_str().unwrap().to_owned();
                checksum_files.insert((dest.to_owned(), package));
            }
            "inline" if dest == "cargo" => {
                let config = source["contents"].as_str().unwrap();
                has_config = config.contains("replace-with = \"vendored-sources\"");
            }
            other => panic!("unexpected source in cargo-sources.json: {other} {source}"),
        }
    }
    let locked = locked_crates();
    let stale: Vec<_> = vendored.difference(&locked).collect();
    let missing: Vec<_> = locked.difference(&vendored).collect();
    assert!(
        stale.is_empty() && missing.is_empty(),
        "flatpak/cargo-sources.json is out of step with Cargo.lock; run build-aux/update-cargo-sources\n\
         only in cargo-sources.json: {stale:?}\nonly in Cargo.lock: {missing:?}"
    );
    let expected_checksums: BTreeSet<_> = vendored
        .iter()
        .map(|(name, version, sha256)| (format!("cargo/vendor/{name}-{version}"), sha256.clone()))
        .collect();
    assert_eq!(
        checksum_files, expected_checksums,
        "each crate's .cargo-checksum.json"
    );
    assert!(
        has_config,
        "cargo-sources.json points cargo at the vendored crates"
    );
}
