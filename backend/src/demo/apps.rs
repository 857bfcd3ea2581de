//! The demo's Flatpaks: a small runtime and a few apps in a Flatpak repository inside the demo
//! folder (`DEMO/flatpak/repo`), installed into an installation there (`DEMO/flatpak/user`) that
//! the demo lists instead of the person's own. Built offline with the real `flatpak` command.
//!
//! What a new demo shows: three apps and their runtime; an older runtime branch nothing uses
//! (Remove Unused); Sketch, which is end-of-life; Paint on the remote, not installed.
//! `demo publish` adds a new version of Notes.
//!
//! Sketch's end of life names no replacing app: flatpak moves an app to its replacement as soon as
//! it installs or updates one that names one (`-y` answers its question), so an installed app
//! that still shows such a notice is one whose owner declined — not something a demo can set up.

use std::path::Path;

use ostree::gio;

use super::flatpak::{Repo, Source, run_user};
use crate::apps::{DEMO_FLATPAK, Installations};
use crate::error::{Error, Result};

/// The remote's name in the demo's installation.
pub const REMOTE: &str = "keel-demo";
const RUNTIME: &str = "io.github.keelapp.demo.Platform";
const BRANCH: &str = "stable";
/// The app `demo publish` updates.
pub const NOTES: &str = "io.github.keelapp.demo.Notes";
const SKETCH: &str = "io.github.keelapp.demo.Sketch";
/// On the remote, not installed: what a person might install from a terminal.
pub const PAINT: &str = "io.github.keelapp.demo.Paint";

fn repo_dir(dir: &Path) -> std::path::PathBuf {
    dir.join(DEMO_FLATPAK).join("repo")
}

/// Whether the demo in `dir` has its Flatpaks.
pub fn exists(dir: &Path) -> bool {
    repo_dir(dir).join("config").is_file()
}

fn runtime(branch: &str, version: &str) -> Source {
    Source {
        id: RUNTIME.into(),
        branch: branch.into(),
        name: "Keel Demo Platform".into(),
        summary: "Shared libraries for the demo apps".into(),
        version: version.into(),
        payload: 400_000,
        ..Source::default()
    }
}

fn app(id: &str, name: &str, summary: &str, version: &str, color: &str, arch: &str) -> Source {
    Source {
        id: id.into(),
        branch: BRANCH.into(),
        name: name.into(),
        summary: summary.into(),
        version: version.into(),
        runtime: Some(format!("{RUNTIME}/{arch}/1")),
        color: Some(color.into()),
        payload: 60_000 + name.len() * 20_000,
        end_of_life: None,
    }
}

fn notes(version: &str, arch: &str) -> Source {
    app(NOTES, "Notes", "Jot things down", version, "#3584e4", arch)
}

fn sketch(arch: &str) -> Source {
    let mut sketch = app(SKETCH, "Sketch", "Quick drawings", "0.9", "#9141ac", arch);
    sketch.end_of_life = Some(("Sketch is no longer maintained.".into(), None));
    sketch
}

/// Builds the demo's Flatpaks in `work` (the demo's scratch folder), for a demo that will live in
/// `final_dir`. Returns false, having built nothing, when the `flatpak` command is missing: the
/// demo then has no apps, and says so where they would be.
pub fn init(work: &Path, final_dir: &Path) -> Result<bool> {
    if !crate::apps::flatpak_installed() {
        tracing::warn!("flatpak is not installed; the demo has no apps");
        return Ok(false);
    }
    let installations = Installations::demo(work);
    let repo = Repo::new(&repo_dir(work), &installations)?;
    let arch = repo.arch.clone();
    repo.export(&runtime("1", "1.2"))?;
    repo.export(&runtime("0", "0.9"))?;
    repo.export(&notes("1.0", &arch))?;
    repo.export(&app(
        "io.github.keelapp.demo.Weather",
        "Weather",
        "Forecasts for your places",
        "2.3",
        "#e66100",
        &arch,
    ))?;
    repo.export(&sketch(&arch))?;
    repo.export(&app(
        PAINT,
        "Paint",
        "Draw and paint",
        "1.0",
        "#2ec27e",
        &arch,
    ))?;
    repo.update_summary()?;

    let url = format!("file://{}", repo.path.display());
    run_user(
        &installations,
        &[
            "remote-add",
            "--no-gpg-verify",
            "--title=Keel Demo Apps",
            REMOTE,
            &url,
        ],
    )?;
    let refs = [
        format!("app/{NOTES}/{arch}/{BRANCH}"),
        format!("app/io.github.keelapp.demo.Weather/{arch}/{BRANCH}"),
        format!("app/{SKETCH}/{arch}/{BRANCH}"),
        format!("runtime/{RUNTIME}/{arch}/0"),
    ];
    // Not pinned (flatpak pins a runtime installed by name), so the old branch is unused.
    let mut install = vec!["install", "-y", "--noninteractive", "--no-auto-pin", REMOTE];
    install.extend(refs.iter().map(String::as_str));
    run_user(&installations, &install)?;

    let final_url = format!("file://{}", repo_dir(final_dir).display());
    run_user(
        &installations,
        &["remote-modify", &format!("--url={final_url}"), REMOTE],
    )?;
    Ok(true)
}

/// Publishes the next version of Notes on the demo's Flatpak remote; returns it, or None when the
/// demo has no Flatpaks.
pub fn publish(dir: &Path) -> Result<Option<String>> {
    if !exists(dir) {
        return Ok(None);
    }
    let installations = Installations::demo(dir);
    let repo = Repo::new(&repo_dir(dir), &installations)?;
    let current = published_version(&repo.path, &format!("app/{NOTES}/{}/{BRANCH}", repo.arch))?;
    let next = next_version(&current);
    repo.export(&notes(&next, &repo.arch))?;
    repo.update_summary()?;
    Ok(Some(next))
}

/// The version a build's commit subject names ("Notes 1.2" → "1.2").
fn published_version(repo: &Path, reference: &str) -> Result<String> {
    let repo = ostree::Repo::new_for_path(repo);
    repo.open(gio::Cancellable::NONE)?;
    let tip = repo.require_rev(reference)?;
    let commit = repo.load_variant(ostree::ObjectType::Commit, &tip)?;
    let subject = commit.child_value(3);
    let subject = subject.str().unwrap_or_default();
    subject
        .rsplit_once(' ')
        .map(|(_, version)| version.to_owned())
        .ok_or_else(|| {
            Error::Failed(format!(
                "The demo's {reference} is not a Keel demo build (subject “{subject}”); recreate the demo."
            ))
        })
}

/// "1.0" → "1.1", "1.9" → "1.10".
fn next_version(version: &str) -> String {
    match version.rsplit_once('.') {
        Some((head, minor)) => match minor.parse::<u32>() {
            Ok(minor) => format!("{head}.{}", minor + 1),
            Err(_) => format!("{version}.1"),
        },
        None => format!("{version}.1"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up() {
        assert_eq!(next_version("1.0"), "1.1");
        assert_eq!(next_version("1.9"), "1.10");
        assert_eq!(next_version("2"), "2.1");
        assert_eq!(next_version("1.beta"), "1.beta.1");
    }
}
