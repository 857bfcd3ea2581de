//! Translations for both processes: everything a person reads — the window's labels and the
//! backend's progress phases, history accounts and error sentences — comes from one gettext domain,
//! so a German session reads German whichever process wrote the sentence.
//!
//! The backend speaks the language of the session that started it (it inherits `LANG`); the window
//! starts it, so the two agree.

pub use gettextrs::{gettext, ngettext};

pub const GETTEXT_PACKAGE: &str = "keel";

/// Where compiled translations are looked for: `KEEL_LOCALEDIR` at run time (uninstalled runs and
/// tests), else the same variable at build time (a packager's own layout), else `share/locale`
/// beside the installed binary's `bin/` (`build-aux/install` puts them there for any prefix: `/app`
/// in the Flatpak, `/usr`, a test's temporary prefix), else `/usr/share/locale`.
pub fn locale_dir() -> String {
    if let Ok(dir) = std::env::var("KEEL_LOCALEDIR") {
        return dir;
    }
    if let Some(dir) = option_env!("KEEL_LOCALEDIR") {
        return dir.to_owned();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| installed_locale_dir(&exe))
        .unwrap_or_else(|| "/usr/share/locale".to_owned())
}

/// `PREFIX/share/locale` for a binary at `PREFIX/bin/NAME`, when that folder exists.
fn installed_locale_dir(exe: &std::path::Path) -> Option<String> {
    let prefix = exe.parent()?.parent()?;
    let dir = prefix.join("share/locale");
    dir.is_dir().then(|| dir.to_string_lossy().into_owned())
}

/// Binds the text domain for this process; the locale must already be set from the environment (GTK
/// does it in the window; the backend calls `setlocale` first thing). Returns a warning to log when
/// translations are unavailable (they are then simply English).
pub fn init() -> Option<String> {
    let dir = locale_dir();
    let warning = gettextrs::bindtextdomain(GETTEXT_PACKAGE, &dir)
        .err()
        .map(|err| format!("translations unavailable from {dir}: {err}"));
    // Both can fail only on out-of-memory inside libc; translations are then simply missing.
    let _ = gettextrs::bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    let _ = gettextrs::textdomain(GETTEXT_PACKAGE);
    warning
}

/// A count as `ngettext` takes it (u32): counts beyond keep their last six digits and stay above
/// one, which is all plural rules look at.
pub fn plural_count(n: u64) -> u32 {
    match u32::try_from(n) {
        Ok(n) => n,
        Err(_) => (n % 1_000_000) as u32 + 1_000_000,
    }
}

/// Fills `{name}` placeholders of a translated sentence; translators may reorder them.
///
/// ```
/// # use keel_api::i18n::fill;
/// assert_eq!(fill("{what} of {size}", &[("what", "1 MB"), ("size", "2 MB")]), "1 MB of 2 MB");
/// ```
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let named = after.find('}').and_then(|close| {
            let name = &after[..close];
            values
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value, close))
        });
        match named {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{fill, installed_locale_dir, plural_count};

    #[test]
    fn fill_replaces_named_placeholders_in_any_order() {
        assert_eq!(
            fill("{b} then {a}", &[("a", "one"), ("b", "two")]),
            "two then one"
        );
        assert_eq!(fill("{a}{a}", &[("a", "x")]), "xx");
    }

    #[test]
    fn plural_counts_keep_what_plural_rules_look_at() {
        assert_eq!(plural_count(1), 1);
        assert_eq!(plural_count(u64::from(u32::MAX)), u32::MAX);
        let big = plural_count(u64::from(u32::MAX) * 10 + 1);
        assert_eq!(big % 10, 1, "the last digit stays");
        assert!(big > 1);
    }

    #[test]
    fn fill_keeps_unknown_braces_and_non_ascii() {
        assert_eq!(fill("{x} — {y", &[("y", "?")]), "{x} — {y");
        assert_eq!(fill("«{n}»", &[("n", "Größe")]), "«Größe»");
        assert_eq!(fill("{n} {", &[("n", "1")]), "1 {");
    }

    #[test]
    fn an_installed_binary_finds_the_locale_folder_of_its_prefix() {
        let prefix = tempfile::tempdir().unwrap();
        let exe = prefix.path().join("bin/keel");
        assert_eq!(installed_locale_dir(&exe), None, "no share/locale yet");
        std::fs::create_dir_all(prefix.path().join("share/locale")).unwrap();
        assert_eq!(
            installed_locale_dir(&exe).as_deref(),
            prefix.path().join("share/locale").to_str()
        );
    }
}
