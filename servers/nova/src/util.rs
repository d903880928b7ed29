//! Small wire helpers shared by the front ends: ISO 8601 times, derived
//! ids, lenient JSON numbers and query strings.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (y, m as u32, d as u32)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parts(t: SystemTime) -> (i64, u32, u32, u64, u64, u64, u32) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, mo, da) = civil_from_days(days);
    (
        y,
        mo,
        da,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros(),
    )
}

/// `2025-01-01T12:00:00Z` (nova's `created`/`updated`).
pub(crate) fn iso_z(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s, _) = parts(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `2025-01-01T12:00:00.000000` (nova's `launched_at`, Cinder's times).
pub(crate) fn iso_micros(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s, us) = parts(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{us:06}")
}

/// Parses `YYYY-MM-DD[THH:MM:SS[.ffffff]][Z|±HH:MM]`.
pub(crate) fn parse_iso(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let num = |a: usize, b: usize| -> Option<u32> {
        let t = s.get(a..b)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if s.get(4..5)? != "-"
        || s.get(7..8)? != "-"
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    let mut secs = days_from_civil(i64::from(y), mo, d) * 86_400;
    let mut micros = 0u32;
    let mut rest = s.get(10..)?;
    if let Some(r) = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' ')) {
        let hms = |a: usize| -> Option<i64> {
            let t = r.get(a..a + 2)?;
            t.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| t.parse().ok())?
        };
        let (h, mi, se) = (hms(0)?, hms(3)?, hms(6)?);
        if h > 23 || mi > 59 || se > 60 {
            return None;
        }
        secs += h * 3600 + mi * 60 + se;
        rest = r.get(8..)?;
        if let Some(f) = rest.strip_prefix('.') {
            let n = f.bytes().take_while(u8::is_ascii_digit).count();
            let digits = f.get(..n)?;
            let padded: String = digits.chars().chain("000000".chars()).take(6).collect();
            micros = padded.parse().ok()?;
            rest = f.get(n..)?;
        }
    }
    match rest {
        "" | "Z" | "z" => {}
        tz => {
            let sign = match tz.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let h: i64 = tz.get(1..3)?.parse().ok()?;
            let m: i64 = tz.get(tz.len() - 2..)?.parse().ok()?;
            secs -= sign * (h * 3600 + m * 60);
        }
    }
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(u64::from(micros)))
}

/// A stable UUID derived from `parts` (ids for things nova-core does not
/// store as records: ports, subnets, external networks).
pub(crate) fn derived_uuid(parts: &[&str]) -> Uuid {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let digest = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid()
}

/// An integer given as a JSON number or a numeric string (nova accepts both).
pub(crate) fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean given as JSON or as one of nova's strings.
pub(crate) fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => parse_bool(s),
        _ => None,
    }
}

/// `true/1/yes/on` or `false/0/no/off`, case-insensitive.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
        _ => None,
    }
}

/// Query string pairs, percent-decoded, in order.
pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The last value of query parameter `key`.
pub(crate) fn query_get<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The last path segment of a reference that may be a URL
/// (`http://…/flavors/1` → `1`).
pub(crate) fn last_segment(r: &str) -> &str {
    r.trim_end_matches('/').rsplit('/').next().unwrap_or(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        let t = UNIX_EPOCH + Duration::from_micros(1_735_732_800_123_456);
        assert_eq!(iso_z(t), "2025-01-01T12:00:00Z");
        assert_eq!(iso_micros(t), "2025-01-01T12:00:00.123456");
        assert_eq!(parse_iso("2025-01-01T12:00:00.123456Z"), Some(t));
        assert_eq!(parse_iso("2025-01-01T13:00:00.123456+01:00"), Some(t));
        assert_eq!(
            parse_iso("2025-01-01"),
            Some(UNIX_EPOCH + Duration::from_secs(1_735_689_600))
        );
        assert_eq!(parse_iso("2025-13-01T00:00:00Z"), None);
        assert_eq!(parse_iso("yesterday"), None);
        assert_eq!(parse_iso("2025-01-01T25:00:00Z"), None);
    }

    #[test]
    fn helpers() {
        assert_eq!(derived_uuid(&["a", "b"]), derived_uuid(&["a", "b"]));
        assert_ne!(derived_uuid(&["a", "b"]), derived_uuid(&["ab"]));
        assert_eq!(int_of(&serde_json::json!("5")), Some(5));
        assert_eq!(int_of(&serde_json::json!(null)), None);
        assert_eq!(bool_of(&serde_json::json!("True")), Some(true));
        assert_eq!(last_segment("http://x/flavors/42"), "42");
        assert_eq!(last_segment("42"), "42");
        let q = query_pairs(Some("name=a%20b&limit=2&name=c"));
        assert_eq!(query_get(&q, "name"), Some("c"));
    }
}
