//! Text for people at a terminal: sizes and times as the command line prints them.

use keel_api::i18n::{fill, gettext, ngettext, plural_count};

/// A size in SI units with one decimal, as GNOME shows sizes: "512 bytes", "1.5 MB".
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1000 {
        let count = plural_count(bytes);
        return fill(
            &ngettext("{count} byte", "{count} bytes", count),
            &[("count", &bytes.to_string())],
        );
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let tenths = format!("{value:.1}");
    let (whole, tenth) = tenths.split_once('.').unwrap_or((&tenths, "0"));
    fill(
        // Translators: a size with one decimal, "1.5 MB"; write your language's decimal
        // separator between {whole} and {tenth}.
        &gettext("{whole}.{tenth} {unit}"),
        &[("whole", whole), ("tenth", tenth), ("unit", UNITS[unit])],
    )
}

/// Seconds since the epoch as an ISO 8601 UTC time: 2026-12-02T12:38:00Z.
pub fn iso_time(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_gnome_shows_them() {
        assert_eq!(size(0), "0 bytes");
        assert_eq!(size(1), "1 byte");
        assert_eq!(size(999), "999 bytes");
        assert_eq!(size(1000), "1.0 kB");
        assert_eq!(size(1_540_000), "1.5 MB");
        assert_eq!(size(999_999), "1.0 MB");
    }

    #[test]
    fn times_are_iso_utc() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso_time(1_764_000_000), "2025-11-24T16:00:00Z");
    }
}
