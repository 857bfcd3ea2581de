//! What the double `rpm-ostree` prints: the cached update, advisories, `KEY: value` lines, and
//! D-Bus values as JSON for `status --json`.

use zbus::zvariant::{OwnedValue, Value};

use super::Dict;

/// Keys of `rpm-ostree status` and the cached update are right-aligned to this width.
const KEY_WIDTH: usize = 15;

pub fn print_cached_update(update: &Dict, verbose: bool) {
    println!("AvailableUpdate:");
    if flag(update, "ref-has-new-commit") {
        let time = utc(number(update, "timestamp"));
        kv("Version", &format!("{} ({time})", text(update, "version")));
        kv("Commit", &text(update, "checksum"));
    }
    if let Some(advisories) = update.get("advisories") {
        print_advisories(advisories);
    }
    let Some(Ok(diff)) = update.get("rpm-diff").map(|v| Dict::try_from(v.clone())) else {
        return;
    };
    let count = |key: &str| match diff.get(key).map(|v| &**v) {
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    };
    if verbose {
        for (key, header) in [("upgraded", "Upgraded"), ("downgraded", "Downgraded")] {
            let Some(Ok(list)) = diff.get(key).map(|v| {
                <Vec<(u32, String, (String, String), (String, String))>>::try_from(v.clone())
            }) else {
                continue;
            };
            for (_, name, old, new) in list {
                kv(header, &format!("{name} {} -> {}", old.0, new.0));
            }
        }
        for (key, header) in [("removed", "Removed"), ("added", "Added")] {
            let Some(Ok(list)) = diff
                .get(key)
                .map(|v| <Vec<(u32, String, String, String)>>::try_from(v.clone()))
            else {
                continue;
            };
            for (_, name, evr, arch) in list {
                kv(header, &format!("{name}-{evr}.{arch}"));
            }
        }
        return;
    }
    let parts: Vec<String> = ["upgraded", "downgraded", "removed", "added"]
        .iter()
        .filter(|k| count(k) > 0)
        .map(|k| format!("{} {k}", count(k)))
        .collect();
    if !parts.is_empty() {
        kv("Diff", &parts.join(", "));
    }
}

/// `SecAdvisories: 1 important, 2 moderate`: security advisories (kind 1) by severity.
pub fn print_advisories(advisories: &OwnedValue) {
    type Advisory = (String, u32, u32, Vec<String>, Dict);
    let Ok(list) = <Vec<Advisory>>::try_from(advisories.clone()) else {
        return;
    };
    let names = [
        "unknown severity",
        "low",
        "moderate",
        "important",
        "critical",
    ];
    let mut counts = [0usize; 5];
    for (_, kind, severity, _, _) in &list {
        if *kind == 1 {
            counts[(*severity as usize).min(4)] += 1;
        }
    }
    let parts: Vec<String> = names
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{n} {name}"))
        .collect();
    if !parts.is_empty() {
        kv("SecAdvisories", &parts.join(", "));
    }
}

pub fn kv(key: &str, value: &str) {
    println!("{key:>KEY_WIDTH$}: {value}");
}

pub fn text(dict: &Dict, key: &str) -> String {
    dict.get(key)
        .and_then(|v| String::try_from(v.clone()).ok())
        .unwrap_or_default()
}

pub fn flag(dict: &Dict, key: &str) -> bool {
    dict.get(key)
        .and_then(|v| bool::try_from(v).ok())
        .unwrap_or(false)
}

pub fn number(dict: &Dict, key: &str) -> u64 {
    dict.get(key)
        .and_then(|v| u64::try_from(v).ok())
        .unwrap_or(0)
}

/// `2026-12-02T02:45:15Z`.
pub fn utc(seconds: u64) -> String {
    ostree::glib::DateTime::from_unix_utc(seconds as i64)
        .and_then(|t| t.format("%Y-%m-%dT%H:%M:%SZ"))
        .map(|s| s.to_string())
        .unwrap_or_default()
}

pub fn dict_json(dict: &Dict) -> serde_json::Value {
    serde_json::Value::Object(
        dict.iter()
            .map(|(k, v)| (k.clone(), value_json(v)))
            .collect(),
    )
}

/// A D-Bus value as rpm-ostree's JSON shows it (json-glib's GVariant serialisation).
fn value_json(value: &Value<'_>) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Bool(b) => J::from(*b),
        Value::U8(n) => J::from(*n),
        Value::I16(n) => J::from(*n),
        Value::U16(n) => J::from(*n),
        Value::I32(n) => J::from(*n),
        Value::U32(n) => J::from(*n),
        Value::I64(n) => J::from(*n),
        Value::U64(n) => J::from(*n),
        Value::F64(n) => J::from(*n),
        Value::Str(s) => J::from(s.as_str()),
        Value::ObjectPath(p) => J::from(p.as_str()),
        Value::Signature(s) => J::from(s.to_string()),
        Value::Value(inner) => value_json(inner),
        Value::Array(a) => J::Array(a.iter().map(value_json).collect()),
        Value::Dict(d) => J::Object(
            d.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::Str(s) => s.to_string(),
                        other => value_json(other).to_string(),
                    };
                    (key, value_json(v))
                })
                .collect(),
        ),
        Value::Structure(s) => J::Array(s.fields().iter().map(value_json).collect()),
        _ => J::Null,
    }
}
