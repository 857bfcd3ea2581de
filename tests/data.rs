//! The desktop file, AppStream metainfo and GSettings schema pass their official validators.

mod common;

use common::{repo_path, run_tool};

#[test]
fn desktop_file_is_valid_without_even_a_hint() {
    let said = run_tool(
        "desktop-file-validate",
        &["data/io.github.keelapp.Keel.desktop"],
    );
    assert_eq!(
        said.trim(),
        "",
        "desktop-file-validate had something to say"
    );
}

#[test]
fn metainfo_is_valid() {
    run_tool(
        "appstreamcli",
        &[
            "validate",
            // Flathub treats warnings as errors; --strict does too.
            "--strict",
            "--no-net",
            "--explain",
            "data/io.github.keelapp.Keel.metainfo.xml",
        ],
    );
}

#[test]
fn gsettings_schema_compiles_strictly() {
    run_tool("glib-compile-schemas", &["--strict", "--dry-run", "data"]);
}

#[test]
fn icons_exist_for_the_app_id() {
    for icon in [
        "data/icons/hicolor/scalable/apps/io.github.keelapp.Keel.svg",
        "data/icons/hicolor/symbolic/apps/io.github.keelapp.Keel-symbolic.svg",
    ] {
        let text = std::fs::read_to_string(repo_path(icon)).unwrap();
        assert!(text.contains("<svg"), "{icon} is not an SVG image");
    }
}

/// What Flathub's review asks of the metainfo beyond what the validator checks.
#[test]
fn metainfo_has_what_flathub_asks_for() {
    let text =
        std::fs::read_to_string(repo_path("data/io.github.keelapp.Keel.metainfo.xml")).unwrap();
    for needed in [
        "<developer id=\"io.github.keelapp\">",
        "<launchable type=\"desktop-id\">io.github.keelapp.Keel.desktop</launchable>",
        "<content_rating type=\"oars-1.1\"",
        "<url type=\"homepage\">",
        "<keywords>",
        "<translation type=\"gettext\">keel</translation>",
        "<display_length compare=\"ge\">360</display_length>",
        "<control>keyboard</control>",
        "<color type=\"primary\" scheme_preference=\"light\">",
        "<color type=\"primary\" scheme_preference=\"dark\">",
        "<screenshot type=\"default\">",
    ] {
        assert!(text.contains(needed), "the metainfo lacks {needed}");
    }
    let releases = text.split("<release ").skip(1).collect::<Vec<_>>();
    assert!(!releases.is_empty(), "no release");
    for release in releases {
        let release = release.split("</release>").next().unwrap();
        assert!(
            release.contains("<description>"),
            "a release without notes: {release}"
        );
    }
    // Screenshots of this repository at this version's tag (a branch moves), each one captioned.
    let tag = format!(
        "https://raw.githubusercontent.com/keelapp/keel/v{}/",
        env!("CARGO_PKG_VERSION")
    );
    let shots = text.split("<screenshot").skip(2).collect::<Vec<_>>();
    assert!(!shots.is_empty(), "no screenshot");
    for shot in shots {
        let image = shot
            .split_once("<image>")
            .and_then(|(_, rest)| rest.split_once("</image>"))
            .map(|(image, _)| image)
            .expect("each screenshot has an image");
        let file = image
            .strip_prefix(&tag)
            .unwrap_or_else(|| panic!("{image} is not at {tag}"));
        assert!(repo_path(file).is_file(), "{file} is not in the repository");
        assert!(shot.contains("<caption>"), "{image} has no caption");
    }
}
