//! Translations stay complete: every file with translatable strings is in po/POTFILES.in, the
//! template is current, and every translation compiles.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{repo, repo_path, run_tool};

fn listed_files() -> BTreeSet<String> {
    std::fs::read_to_string(repo_path("po/POTFILES.in"))
        .unwrap()
        .lines()
        .map(|line| line.split('#').next().unwrap().trim())
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

fn has_translatable_strings(path: &Path, text: &str) -> bool {
    match path.extension().and_then(|ext| ext.to_str()) {
        Some("rs") => ["gettext(", "gettext_f(", "ngettext(", "pgettext("]
            .iter()
            .any(|call| text.contains(call)),
        Some("ui") => text.contains("translatable=\"yes\""),
        _ => false,
    }
}

fn walk(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, found);
        } else {
            found.push(path);
        }
    }
}

#[test]
fn potfiles_lists_every_file_with_translatable_strings() {
    let listed = listed_files();
    let mut files = Vec::new();
    // Both processes: the window's own words, and the backend's and keel-api's sentences.
    for dir in ["src", "api/src", "backend/src"] {
        walk(&repo_path(dir), &mut files);
    }
    let mut missing = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let relative = path
            .strip_prefix(repo())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if has_translatable_strings(&path, &text) && !listed.contains(&relative) {
            missing.push(relative);
        }
    }
    assert!(
        missing.is_empty(),
        "add these to po/POTFILES.in, then run build-aux/update-po: {missing:?}"
    );
}

#[test]
fn potfiles_entries_exist() {
    for file in listed_files() {
        assert!(
            repo_path(&file).is_file(),
            "po/POTFILES.in lists {file}, which does not exist"
        );
    }
}

fn msgids(pot: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut current: Option<String> = None;
    for line in pot.lines() {
        if let Some(rest) = line.strip_prefix("msgid ") {
            current = Some(rest.trim_matches('"').to_owned());
        } else if let (Some(id), true) = (current.as_mut(), line.starts_with('"')) {
            id.push_str(line.trim_matches('"'));
        } else if let Some(id) = current.take() {
            ids.insert(id);
        }
    }
    ids.extend(current);
    ids
}

#[test]
fn template_is_current() {
    let scratch = tempfile::tempdir().unwrap();
    let fresh = scratch.path().join("keel.pot");
    run_tool(
        "build-aux/update-po",
        &["--pot-to", fresh.to_str().unwrap()],
    );
    let fresh = msgids(&std::fs::read_to_string(fresh).unwrap());
    let committed = msgids(&std::fs::read_to_string(repo_path("po/keel.pot")).unwrap());
    assert_eq!(
        fresh, committed,
        "po/keel.pot is out of date: run build-aux/update-po and commit the result"
    );
}

#[test]
fn translations_compile_and_are_complete() {
    let linguas = std::fs::read_to_string(repo_path("po/LINGUAS")).unwrap();
    for lang in linguas
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let po = format!("po/{lang}.po");
        let stats = run_tool(
            "msgfmt",
            &["--check", "--statistics", "-o", "/dev/null", &po],
        );
        assert!(
            !stats.contains("untranslated") && !stats.contains("fuzzy"),
            "{po} is incomplete: {stats}"
        );
    }
}

/// The German translation of `msgid`, from po/de.po (None when it has none).
fn german(msgid: &str) -> Option<String> {
    let po = std::fs::read_to_string(repo_path("po/de.po")).unwrap();
    let mut lines = po.lines();
    let wanted = format!("msgid \"{msgid}\"");
    lines.find(|line| *line == wanted)?;
    let msgstr = lines.next()?.strip_prefix("msgstr ")?.trim_matches('"');
    (!msgstr.is_empty()).then(|| msgstr.to_owned())
}

#[test]
fn progress_text_is_one_translated_sentence() {
    for (msgid, placeholders) in [
        ("{phase} — {percent} %", &["{phase}", "{percent}"][..]),
        (
            "{phase}: {message} — {percent} %",
            &["{phase}", "{message}", "{percent}"][..],
        ),
    ] {
        let text = german(msgid).unwrap_or_else(|| panic!("po/de.po does not translate {msgid:?}"));
        for p in placeholders {
            assert!(text.contains(p), "{text:?} lost {p}");
        }
    }
}
