//! The wire format of images: JSON rendering, field validation shared by
//! create and PATCH, and timestamps.

use glance_core::image::{ContainerFormat, DiskFormat};
use glance_core::{Error, Image, Result, Visibility};
use serde_json::{Map, Value};

/// Keys a client may never set.
pub(crate) const READ_ONLY: &[&str] = &[
    "id",
    "status",
    "owner",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "size",
    "virtual_size",
    "created_at",
    "updated_at",
    "self",
    "file",
    "schema",
    "direct_url",
    "stores",
    "locations",
    "location",
    "deleted",
    "deleted_at",
];

/// Keys with a meaning of their own (not custom properties).
pub(crate) const CORE: &[&str] = &[
    "name",
    "visibility",
    "protected",
    "os_hidden",
    "disk_format",
    "container_format",
    "min_disk",
    "min_ram",
    "tags",
];

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn timestamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an ISO 8601 time (`YYYY-MM-DDTHH:MM:SS[.frac][Z|±HH:MM]`, or a
/// date alone) into seconds since the epoch.
pub(crate) fn parse_time(s: &str) -> Option<u64> {
    let num = |a: usize, b: usize| s.get(a..b).and_then(|x| x.parse::<i64>().ok());
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if s.get(4..5) != Some("-")
        || s.get(7..8) != Some("-")
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) * 86_400;
    if s.len() > 10 {
        if !matches!(s.get(10..11), Some("T" | "t" | " ")) || s.get(13..14) != Some(":") {
            return None;
        }
        let (h, mi) = (num(11, 13)?, num(14, 16)?);
        let sec = if s.get(16..17) == Some(":") {
            num(17, 19)?
        } else {
            0
        };
        secs += h * 3600 + mi * 60 + sec;
        let rest = s.get(16..)?;
        let tz = rest.find(['Z', 'z', '+']).or_else(|| rest.rfind('-'));
        if let Some(i) = tz {
            let z = &rest[i..];
            if z.len() >= 6 && (z.starts_with('+') || z.starts_with('-')) {
                let off = z.get(1..3)?.parse::<i64>().ok()? * 3600
                    + z.get(4..6)?.parse::<i64>().ok()? * 60;
                secs -= if z.starts_with('+') { off } else { -off };
            }
        }
    }
    u64::try_from(secs).ok()
}

/// The image as Glance shows it: core keys (unset ones `null`) plus the
/// custom properties as top-level strings.
pub(crate) fn image_json(img: &Image) -> Value {
    let mut m = Map::new();
    for (k, v) in &img.properties {
        m.insert(k.clone(), Value::String(v.clone()));
    }
    let id = img.id.to_string();
    let obj = serde_json::json!({
        "id": id,
        "name": img.name,
        "status": img.status.as_str(),
        "visibility": img.visibility.as_str(),
        "protected": img.protected,
        "os_hidden": img.os_hidden,
        "checksum": img.checksum,
        "os_hash_algo": img.os_hash_algo,
        "os_hash_value": img.os_hash_value,
        "owner": img.owner.as_ref().map(|o| o.as_str()),
        "size": img.size,
        "virtual_size": img.virtual_size,
        "container_format": img.container_format.map(|f| f.as_str()),
        "disk_format": img.disk_format.map(|f| f.as_str()),
        "min_ram": img.min_ram,
        "min_disk": img.min_disk,
        "created_at": timestamp(img.created_at),
        "updated_at": timestamp(img.updated_at),
        "tags": img.tags,
        "self": format!("/v2/images/{id}"),
        "file": format!("/v2/images/{id}/file"),
        "schema": "/v2/schemas/image",
    });
    if let Value::Object(core) = obj {
        m.extend(core);
    }
    if !img.locations.is_empty() {
        let stores: Vec<&str> = img.locations.iter().map(|l| l.store.as_str()).collect();
        m.insert("stores".into(), Value::String(stores.join(",")));
    }
    Value::Object(m)
}

fn bad(key: &str, want: &str) -> Error {
    Error::invalid(format!(
        "provided object does not match schema 'image': {key} must be {want}"
    ))
}

fn opt_str<'a>(key: &str, v: &'a Value) -> Result<Option<&'a str>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(bad(key, "a string or null")),
    }
}

fn uint(key: &str, v: &Value) -> Result<u64> {
    v.as_u64().ok_or_else(|| bad(key, "a non-negative integer"))
}

fn boolean(key: &str, v: &Value) -> Result<bool> {
    v.as_bool().ok_or_else(|| bad(key, "a boolean"))
}

/// Sets `key` to `value` on `img`, validating it as Glance's schema does.
/// Read-only keys are `Forbidden`; other unknown keys are custom
/// properties and must be strings.
pub(crate) fn set_field(img: &mut Image, key: &str, value: &Value) -> Result<()> {
    if READ_ONLY.contains(&key) {
        return Err(Error::forbidden(format!("attribute '{key}' is read-only")));
    }
    if key.starts_with("os_glance") {
        return Err(Error::forbidden(format!("attribute '{key}' is reserved")));
    }
    match key {
        "name" => {
            let name = opt_str(key, value)?;
            if name.is_some_and(|n| n.chars().count() > 255) {
                return Err(bad(key, "at most 255 characters"));
            }
            img.name = name.map(str::to_owned);
        }
        "visibility" => {
            img.visibility = opt_str(key, value)?
                .ok_or_else(|| bad(key, "a string"))?
                .parse::<Visibility>()?;
        }
        "protected" => img.protected = boolean(key, value)?,
        "os_hidden" => img.os_hidden = boolean(key, value)?,
        "disk_format" => {
            img.disk_format = opt_str(key, value)?
                .map(str::parse::<DiskFormat>)
                .transpose()?;
        }
        "container_format" => {
            img.container_format = opt_str(key, value)?
                .map(str::parse::<ContainerFormat>)
                .transpose()?;
        }
        "min_disk" => img.min_disk = uint(key, value)?,
        "min_ram" => img.min_ram = uint(key, value)?,
        "tags" => {
            let arr = value.as_array().ok_or_else(|| bad(key, "an array"))?;
            let mut tags = std::collections::BTreeSet::new();
            for t in arr {
                let t = t.as_str().ok_or_else(|| bad(key, "an array of strings"))?;
                if t.is_empty() || t.chars().count() > 255 {
                    return Err(bad(key, "an array of 1 to 255 character strings"));
                }
                tags.insert(t.to_owned());
            }
            img.tags = tags;
        }
        _ => {
            if key.is_empty() || key.chars().count() > 255 {
                return Err(Error::invalid(format!("bad property name {key:?}")));
            }
            let v = value
                .as_str()
                .ok_or_else(|| bad(key, "a string (custom property)"))?;
            img.properties.insert(key.to_owned(), v.to_owned());
        }
    }
    Ok(())
}

/// Removes `key` from `img` (PATCH `remove`): custom properties only;
/// `Conflict` if it is absent, `Forbidden` for core and read-only keys.
pub(crate) fn remove_field(img: &mut Image, key: &str) -> Result<()> {
    if READ_ONLY.contains(&key) || CORE.contains(&key) || key.starts_with("os_glance") {
        return Err(Error::forbidden(format!(
            "attribute '{key}' may not be removed"
        )));
    }
    img.properties
        .remove(key)
        .map(|_| ())
        .ok_or_else(|| Error::conflict(format!("property {key} does not exist")))
}

/// Whether `key` currently has a value (PATCH `replace` needs one for
/// custom properties).
pub(crate) fn has_field(img: &Image, key: &str) -> bool {
    CORE.contains(&key) || READ_ONLY.contains(&key) || img.properties.contains_key(key)
}

#[cfg(test)]
mod tests {
    use super::timestamp;

    #[test]
    fn times_parse_back() {
        use super::parse_time;
        assert_eq!(parse_time("2026-11-24T19:08:31Z"), Some(1_795_547_311));
        assert_eq!(
            parse_time("2026-11-24T19:08:31.123456Z"),
            Some(1_795_547_311)
        );
        assert_eq!(parse_time("2026-11-24T20:08:31+01:00"), Some(1_795_547_311));
        assert_eq!(parse_time("2000-02-29"), Some(951_782_400));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2000-13-01"), None);
    }

    #[test]
    fn timestamps_are_utc_iso8601() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(1_795_547_311), "2026-11-24T19:08:31Z");
        assert_eq!(timestamp(951_782_400), "2000-02-29T00:00:00Z");
    }
}
