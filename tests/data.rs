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
