//! The times EC2 shows and reads: `2025-01-01T12:00:00.000Z` in responses,
//! `20250101T120000Z` (SigV4) and ISO 8601 (SigV2 `Timestamp`) in requests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// Seconds since the epoch of `t` (negative before it).
pub(crate) fn epoch_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// `2025-01-01T12:00:00.000Z`.
pub(crate) fn iso(t: SystemTime) -> String {
    let millis = t
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .subsec_millis();
    let secs = epoch_secs(t);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn from_parts(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    let ok = (1..=12).contains(&mo)
        && (1..=31).contains(&d)
        && (0..24).contains(&h)
        && (0..60).contains(&mi)
        && (0..=60).contains(&s);
    ok.then(|| days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// Epoch seconds of a SigV4 date `20250101T120000Z`.
pub(crate) fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let p = |r: std::ops::Range<usize>| s.get(r).and_then(num);
    from_parts(
        p(0..4)?,
        p(4..6)?,
        p(6..8)?,
        p(9..11)?,
        p(11..13)?,
        p(13..15)?,
    )
}

/// Epoch seconds of an ISO 8601 UTC time `2025-01-01T12:00:00[.fff]Z`
/// (the `Z` may be missing).
pub(crate) fn parse_iso(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z').unwrap_or(s);
    let s = s.split('.').next()?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(num);
    let mut t = time.split(':').map(num);
    let (y, mo, dd) = (d.next()??, d.next()??, d.next()??);
    let (h, mi, sec) = (t.next()??, t.next()??, t.next()??);
    if d.next().is_some() || t.next().is_some() {
        return None;
    }
    from_parts(y, mo, dd, h, mi, sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let t = UNIX_EPOCH + Duration::from_millis(1_735_732_800_123);
        assert_eq!(iso(t), "2025-01-01T12:00:00.123Z");
        assert_eq!(parse_amz_date("20250101T120000Z"), Some(1_735_732_800));
        assert_eq!(parse_iso("2025-01-01T12:00:00Z"), Some(1_735_732_800));
        assert_eq!(parse_iso("2025-01-01T12:00:00.500Z"), Some(1_735_732_800));
        assert_eq!(parse_iso("2024-02-29T00:00:00"), Some(1_709_164_800));
        assert_eq!(parse_amz_date("20250101 120000Z"), None);
        assert_eq!(parse_amz_date("20251301T120000Z"), None);
        assert_eq!(parse_iso("yesterday"), None);
        assert_eq!(parse_iso("2025-01-01T12:00"), None);
    }
}
