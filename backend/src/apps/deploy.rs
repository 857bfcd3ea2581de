//! flatpak's `deploy` file: what it recorded when it deployed a ref. A GVariant of type
//! `(ssasta{sv})` — origin remote, commit, subpaths, installed size (stored big-endian whatever the
//! machine's order), and a dictionary of metadata (`appdata-name`, `eol`, `runtime`, …).

use ostree::glib;

/// The parts of a deploy file Keel shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeployData {
    pub origin: String,
    pub commit: String,
    pub installed_size: u64,
    pub name: Option<String>,
    pub summary: Option<String>,
    /// Translated names and summaries by locale (`de`, `pt_BR`), from `appdata-name@LOCALE`.
    pub translations: Vec<(Kind, String, String)>,
    pub version: Option<String>,
    /// `[Application] runtime` of the metadata, as `ID/ARCH/BRANCH`.
    pub runtime: Option<String>,
    pub end_of_life: Option<String>,
    pub end_of_life_rebase: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Name,
    Summary,
}

const DEPLOY_TYPE: &str = "(ssasta{sv})";

/// Parses a deploy file's bytes; the error says, in English for the log and the `broken` field's
/// detail, what is wrong with it.
pub fn parse(bytes: &[u8]) -> Result<DeployData, String> {
    let ty = glib::VariantTy::new(DEPLOY_TYPE).map_err(|e| e.to_string())?;
    let variant = glib::Variant::from_data_with_type(bytes, ty);
    // Data that is not in normal form reads as zeros and empty strings: refuse it rather than
    // list an app with no commit.
    if !variant.is_normal_form() {
        return Err(format!(
            "it is not a valid {DEPLOY_TYPE} GVariant ({} bytes)",
            bytes.len()
        ));
    }
    let text = |index: usize| {
        variant
            .child_value(index)
            .str()
            .unwrap_or_default()
            .to_owned()
    };
    let commit = text(1);
    if commit.len() != 64 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("its commit “{commit}” is not a checksum"));
    }
    // flatpak writes the size with GUINT64_TO_BE.
    let installed_size = u64::from_be(variant.child_value(3).get::<u64>().unwrap_or_default());
    let mut data = DeployData {
        origin: text(0),
        commit,
        installed_size,
        ..DeployData::default()
    };
    let metadata = variant.child_value(4);
    for entry in metadata.iter() {
        let key = entry.child_value(0);
        let Some(value) = entry.child_value(1).as_variant() else {
            continue;
        };
        // Values of an unexpected type are ignored, as flatpak itself does.
        let value = value.str().map(str::to_owned);
        let key = key.str().unwrap_or_default();
        if let Some((field, locale)) = key.split_once('@') {
            let kind = match field {
                "appdata-name" => Kind::Name,
                "appdata-summary" => Kind::Summary,
                _ => continue,
            };
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                data.translations.push((kind, locale.to_owned(), value));
            }
            continue;
        }
        let slot = match key {
            "appdata-name" => &mut data.name,
            "appdata-summary" => &mut data.summary,
            "appdata-version" => &mut data.version,
            "runtime" => &mut data.runtime,
            "eol" => &mut data.end_of_life,
            "eolr" => &mut data.end_of_life_rebase,
            _ => continue,
        };
        *slot = value.filter(|v| !v.is_empty());
    }
    Ok(data)
}

/// The end-of-life notice (reason, replacing ref) in an OSTree commit object's metadata — a
/// pulled update's, before it is deployed. None when the object is not a valid commit.
pub fn commit_end_of_life(bytes: &[u8]) -> Option<(Option<String>, Option<String>)> {
    let ty = glib::VariantTy::new("(a{sv}aya(say)sstayay)").ok()?;
    let commit = glib::Variant::from_data_with_type(bytes, ty);
    if !commit.is_normal_form() {
        return None;
    }
    let metadata = glib::VariantDict::new(Some(&commit.child_value(0)));
    let text = |key: &str| {
        metadata
            .lookup_value(key, Some(glib::VariantTy::STRING))
            .and_then(|v| v.str().map(str::to_owned))
            .filter(|v| !v.is_empty())
    };
    Some((text("ostree.endoflife"), text("ostree.endoflife-rebase")))
}

impl DeployData {
    /// The name or summary in the first of `locales` it is translated into, else untranslated.
    pub fn localized(&self, kind: Kind, locales: &[String]) -> Option<&str> {
        locales
            .iter()
            .find_map(|locale| {
                self.translations
                    .iter()
                    .find(|(k, l, _)| *k == kind && l == locale)
                    .map(|(_, _, text)| text.as_str())
            })
            .or(match kind {
                Kind::Name => self.name.as_deref(),
                Kind::Summary => self.summary.as_deref(),
            })
    }
}

/// Writes a deploy file the way flatpak does, for tests and the benchmark's generated
/// installations.
pub fn serialize(data: &DeployData, extra: &[(&str, glib::Variant)]) -> Vec<u8> {
    use glib::prelude::*;
    let dict = glib::VariantDict::new(None);
    let mut strings = vec![
        ("appdata-name", &data.name),
        ("appdata-summary", &data.summary),
        ("appdata-version", &data.version),
        ("runtime", &data.runtime),
        ("eol", &data.end_of_life),
        ("eolr", &data.end_of_life_rebase),
    ];
    strings.retain(|(_, v)| v.is_some());
    for (key, value) in strings {
        dict.insert_value(key, &value.as_deref().unwrap_or_default().to_variant());
    }
    for (kind, locale, text) in &data.translations {
        let field = match kind {
            Kind::Name => "appdata-name",
            Kind::Summary => "appdata-summary",
        };
        dict.insert_value(&format!("{field}@{locale}"), &text.to_variant());
    }
    dict.insert_value("deploy-version", &4i32.to_variant());
    for (key, value) in extra {
        dict.insert_value(key, value);
    }
    let variant = glib::Variant::tuple_from_iter([
        data.origin.to_variant(),
        data.commit.to_variant(),
        Vec::<String>::new().to_variant(),
        data.installed_size.to_be().to_variant(),
        dict.end(),
    ]);
    variant.data().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deploy file written by flatpak 1.16 for the offline recipe's org.test.Hello 1.0 (origin
    /// test-repo, 1,536 bytes, named "Hallo" in German), byte for byte.
    const FROM_FLATPAK: &str = include_str!("testdata/hello.deploy.hex");

    fn unhex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn reads_what_flatpak_wrote() {
        let data = parse(&unhex(FROM_FLATPAK)).unwrap();
        assert_eq!(data.origin, "test-repo");
        assert_eq!(data.installed_size, 1536);
        assert_eq!(data.name.as_deref(), Some("Hello"));
        let german = ["de_DE".to_owned(), "de".to_owned()];
        assert_eq!(data.localized(Kind::Name, &german), Some("Hallo"));
        assert_eq!(data.localized(Kind::Summary, &german), Some("Test-App"));
        assert_eq!(
            data.localized(Kind::Name, &["fr".to_owned()]),
            Some("Hello")
        );
        assert_eq!(data.summary.as_deref(), Some("Test app"));
        assert_eq!(data.version.as_deref(), Some("1.0"));
        assert_eq!(
            data.runtime.as_deref(),
            Some("org.test.Platform/x86_64/master")
        );
        assert_eq!(data.end_of_life, None);
        assert_eq!(
            data.commit,
            "d2ddb4907218a4bb2137d8dd0a9743a10e9e9dae7b87dd937514ecab807842a6"
        );
    }

    #[test]
    fn round_trips_with_end_of_life() {
        let data = DeployData {
            origin: "flathub".into(),
            commit: "ab".repeat(32),
            installed_size: 0x0102_0304_0506_0708,
            name: Some("Old".into()),
            translations: vec![(Kind::Summary, "de".into(), "Alt".into())],
            end_of_life: Some("Unmaintained".into()),
            end_of_life_rebase: Some("org.new.App".into()),
            ..DeployData::default()
        };
        let bytes = serialize(&data, &[]);
        assert_eq!(parse(&bytes).unwrap(), data);
        // The size really is big-endian in the file: its last eight bytes before the dictionary.
        assert!(
            bytes.windows(8).any(|w| w == [1, 2, 3, 4, 5, 6, 7, 8]),
            "size not stored big-endian"
        );
    }

    #[test]
    fn refuses_what_is_not_a_deploy_file() {
        let good = unhex(FROM_FLATPAK);
        for bad in [
            Vec::new(),
            b"not a gvariant at all".to_vec(),
            good[..good.len() / 2].to_vec(),
        ] {
            let err = parse(&bad).unwrap_err();
            assert!(
                err.contains("GVariant") || err.contains("checksum"),
                "{err}"
            );
        }
        let no_commit = serialize(&DeployData::default(), &[]);
        assert!(parse(&no_commit).unwrap_err().contains("checksum"));
    }

    #[test]
    fn values_of_another_type_are_ignored() {
        use glib::prelude::*;
        let data = DeployData {
            commit: "0".repeat(64),
            ..DeployData::default()
        };
        let bytes = serialize(&data, &[("appdata-version", 7u32.to_variant())]);
        assert_eq!(parse(&bytes).unwrap().version, None);
    }
}
