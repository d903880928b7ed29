//! Swift timestamps: the version clock of every object, container and account.
//!
//! A timestamp is a count of 10-microsecond ticks since the Unix epoch plus an
//! optional offset that orders several internal events at the same instant
//! (Swift uses it for `X-Timestamp` collisions, e.g. POST after PUT). The
//! normal form is `1700000000.12345` (16 characters, fixed width, so string
//! order equals time order); with an offset it is
//! `1700000000.12345_000000000000000a`.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// Ticks per second (Swift's precision is 5 decimal places).
const TICKS_PER_SEC: u64 = 100_000;
/// The largest timestamp the normal form can hold: `9999999999.99999`.
const MAX_TICKS: u64 = 9_999_999_999 * TICKS_PER_SEC + 99_999;

/// A Swift timestamp; ordered by time then offset.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    ticks: u64,
    offset: u64,
}

impl Timestamp {
    /// The zero timestamp (never a real write).
    pub const ZERO: Timestamp = Timestamp {
        ticks: 0,
        offset: 0,
    };

    /// The current wall-clock time.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// Converts a system time, truncating to 10 µs.
    pub fn from_system_time(t: SystemTime) -> Self {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let ticks = d.as_secs() * TICKS_PER_SEC + u64::from(d.subsec_micros()) / 10;
        Self {
            ticks: ticks.min(MAX_TICKS),
            offset: 0,
        }
    }

    /// Builds a timestamp from whole seconds and 10 µs ticks within the second.
    pub fn from_ticks(ticks: u64) -> Self {
        Self {
            ticks: ticks.min(MAX_TICKS),
            offset: 0,
        }
    }

    /// 10 µs ticks since the epoch.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The offset (0 for client-visible timestamps).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The same instant with another offset.
    pub fn with_offset(self, offset: u64) -> Self {
        Self { offset, ..self }
    }

    /// Seconds since the epoch as a float (for Last-Modified and listings).
    pub fn as_secs_f64(&self) -> f64 {
        self.ticks as f64 / TICKS_PER_SEC as f64
    }

    /// Whole seconds since the epoch.
    pub fn secs(&self) -> u64 {
        self.ticks / TICKS_PER_SEC
    }

    /// The instant as a system time.
    pub fn to_system_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(self.ticks * 10)
    }

    /// `1700000000.12345`: the client-visible form, without offset.
    pub fn normal(&self) -> String {
        format!(
            "{:010}.{:05}",
            self.ticks / TICKS_PER_SEC,
            self.ticks % TICKS_PER_SEC
        )
    }

    /// The normal form, plus `_<16 hex>` when the offset is non-zero; used in
    /// file names and internal headers.
    pub fn internal(&self) -> String {
        if self.offset == 0 {
            self.normal()
        } else {
            format!("{}_{:016x}", self.normal(), self.offset)
        }
    }

    /// ISO 8601 with microseconds, as container listings show `last_modified`
    /// (`2024-01-02T03:04:05.123450`).
    pub fn isoformat(&self) -> String {
        let secs = self.secs();
        let micros = (self.ticks % TICKS_PER_SEC) * 10;
        let (y, mo, d, h, mi, s) = civil_from_unix(secs);
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{micros:06}")
    }

    /// HTTP date of the instant rounded up to the next whole second, as Swift
    /// renders `Last-Modified`.
    pub fn http_date(&self) -> String {
        let mut secs = self.secs();
        if self.ticks % TICKS_PER_SEC != 0 {
            secs += 1;
        }
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
    }
}

/// Days-from-civil inverse (Howard Hinnant's algorithm), UTC.
fn civil_from_unix(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (h, mi, s) = (
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
        (rem % 60) as u32,
    );
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d, h, mi, s)
}

impl FromStr for Timestamp {
    type Err = Error;

    /// Parses `1700000000`, `1700000000.1`, `1700000000.12345` and the
    /// internal form with `_<hex offset>`. Rejects negatives, NaN, exponents
    /// and values past `9999999999.99999`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid(format!("invalid timestamp {s:?}"));
        let (main, offset) = match s.split_once('_') {
            Some((m, o)) => {
                if o.is_empty() || o.len() > 16 {
                    return Err(bad());
                }
                (m, u64::from_str_radix(o, 16).map_err(|_| bad())?)
            }
            None => (s, 0),
        };
        let (whole, frac) = match main.split_once('.') {
            Some((w, f)) => (w, f),
            None => (main, ""),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let secs: u64 = whole.parse().map_err(|_| bad())?;
        // Round the fraction to 5 places, as Swift does with float formatting.
        let mut digits: Vec<u8> = frac.bytes().map(|b| b - b'0').collect();
        digits.resize(6.max(digits.len()), 0);
        let mut sub: u64 = digits[..5]
            .iter()
            .fold(0, |acc, d| acc * 10 + u64::from(*d));
        if digits[5] >= 5 {
            sub += 1;
        }
        let ticks = secs
            .checked_mul(TICKS_PER_SEC)
            .and_then(|t| t.checked_add(sub))
            .ok_or_else(bad)?;
        if ticks > MAX_TICKS {
            return Err(bad());
        }
        Ok(Self { ticks, offset })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.internal())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.internal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_form_is_fixed_width() {
        let t: Timestamp = "1700000000.5".parse().unwrap();
        assert_eq!(t.normal(), "1700000000.50000");
        let t: Timestamp = "12.00001".parse().unwrap();
        assert_eq!(t.normal(), "0000000012.00001");
    }

    #[test]
    fn offsets_order_after_plain() {
        let a: Timestamp = "1700000000.12345".parse().unwrap();
        let b: Timestamp = "1700000000.12345_0000000000000001".parse().unwrap();
        assert!(b > a);
        assert_eq!(b.internal(), "1700000000.12345_0000000000000001");
        assert_eq!(b.internal().parse::<Timestamp>().unwrap(), b);
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "-1",
            "abc",
            "1e10",
            "1.2.3",
            "99999999999",
            "1_",
            "1_xyz",
        ] {
            assert!(s.parse::<Timestamp>().is_err(), "{s}");
        }
    }

    #[test]
    fn isoformat_and_http_date() {
        let t: Timestamp = "1700000000.12345".parse().unwrap();
        assert_eq!(t.isoformat(), "2023-11-14T22:13:20.123450");
        assert_eq!(t.http_date(), "Tue, 14 Nov 2023 22:13:21 GMT");
    }
}
