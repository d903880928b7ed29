//! Listing output: content negotiation and Swift's JSON, XML and plain
//! text listing bodies.

use std::fmt::Write as _;

use super::account::ContainerEntry;
use super::container::ObjectEntry;
use super::listing::ListingEntry;

/// The listing content types, in Swift's order of preference.
const OFFERS: [&str; 4] = [
    "text/plain",
    "application/json",
    "application/xml",
    "text/xml",
];

/// Picks the listing content type from the `format` query parameter and
/// the `Accept` header, as Swift's `get_listing_content_type` does.
/// Returns `None` when nothing acceptable is offered (406).
pub fn listing_content_type(format: Option<&str>, accept: Option<&str>) -> Option<&'static str> {
    if let Some(f) = format.filter(|f| !f.is_empty()) {
        return Some(match f.to_ascii_lowercase().as_str() {
            "json" => "application/json",
            "xml" => "application/xml",
            _ => "text/plain",
        });
    }
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Some("text/plain");
    };
    let ranges: Vec<(String, f32)> = accept
        .split(',')
        .filter_map(|part| {
            let mut it = part.split(';');
            let range = it.next()?.trim().to_ascii_lowercase();
            if range.is_empty() {
                return None;
            }
            let mut q = 1.0f32;
            for param in it {
                if let Some(v) = param.trim().strip_prefix("q=") {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
            Some((range, q))
        })
        .collect();
    let mut best: Option<(&'static str, f32)> = None;
    for offer in OFFERS {
        let (otype, _) = offer.split_once('/').unwrap_or((offer, ""));
        // The most specific matching range decides the quality.
        let mut found: Option<(u8, f32)> = None;
        for (range, q) in &ranges {
            let spec = if range == offer {
                3
            } else if range == &format!("{otype}/*") {
                2
            } else if range == "*/*" || range == "*" {
                1
            } else {
                continue;
            };
            if found.is_none_or(|(s, _)| spec > s) {
                found = Some((spec, *q));
            }
        }
        if let Some((_, q)) = found {
            if q > 0.0 && best.is_none_or(|(_, bq)| q > bq) {
                best = Some((offer, q));
            }
        }
    }
    best.map(|(o, _)| o)
}

fn is_xml(ct: &str) -> bool {
    ct.ends_with("/xml")
}

fn is_json(ct: &str) -> bool {
    ct.ends_with("/json")
}

/// Appends `s` as a JSON string with non-ASCII escaped, as Python's
/// `json.dumps` writes it.
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn xml_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

fn xml_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#09;"),
            c => out.push(c),
        }
    }
}

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// Splits `;swift_bytes=N` off a content type (set by SLO manifests): the
/// listing shows N as the size and the content type without it.
pub(crate) fn split_swift_bytes(content_type: &str) -> (String, Option<u64>) {
    let mut bytes = None;
    let mut kept = Vec::new();
    for (i, part) in content_type.split(';').enumerate() {
        if i > 0 {
            if let Some(v) = part.trim().strip_prefix("swift_bytes=") {
                bytes = v.parse().ok();
                continue;
            }
        }
        kept.push(part);
    }
    (kept.join(";"), bytes)
}

fn element(out: &mut String, tag: &str, text: &str) {
    let _ = write!(out, "<{tag}>");
    xml_text(out, text);
    let _ = write!(out, "</{tag}>");
}

/// A row of a listing: an object in a container or a container in an account.
trait ListingItem {
    fn name(&self) -> &str;
    /// Writes the row as one JSON object.
    fn write_json(&self, out: &mut String);
}

impl ListingItem for ObjectEntry {
    fn name(&self) -> &str {
        &self.name
    }

    fn write_json(&self, out: &mut String) {
        let (ct, sb) = split_swift_bytes(&self.content_type);
        let _ = write!(out, "{{\"bytes\": {}, \"hash\": ", sb.unwrap_or(self.size));
        json_str(out, &self.etag);
        out.push_str(", \"name\": ");
        json_str(out, &self.name);
        out.push_str(", \"content_type\": ");
        json_str(out, &ct);
        out.push_str(", \"last_modified\": ");
        json_str(out, &self.created_at.isoformat());
        out.push('}');
    }
}

impl ListingItem for ContainerEntry {
    fn name(&self) -> &str {
        &self.name
    }

    fn write_json(&self, out: &mut String) {
        out.push_str("{\"name\": ");
        json_str(out, &self.name);
        let _ = write!(
            out,
            ", \"count\": {}, \"bytes\": {}, \"last_modified\": ",
            self.object_count, self.bytes_used
        );
        json_str(out, &self.put_timestamp.isoformat());
        out.push('}');
    }
}

/// A JSON array of rows and `{"subdir": ...}` entries.
fn json_listing<T: ListingItem>(out: &mut String, entries: &[ListingEntry<T>]) {
    out.push('[');
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match e {
            ListingEntry::Subdir(d) => {
                out.push_str("{\"subdir\": ");
                json_str(out, d);
                out.push('}');
            }
            ListingEntry::Item(item) => item.write_json(out),
        }
    }
    out.push(']');
}

/// One name per line.
fn plain_listing<T: ListingItem>(out: &mut String, entries: &[ListingEntry<T>]) {
    for e in entries {
        let name = match e {
            ListingEntry::Subdir(d) => d.as_str(),
            ListingEntry::Item(item) => item.name(),
        };
        out.push_str(name);
        out.push('\n');
    }
}

/// A container listing body in the given content type; empty for an empty
/// plain listing (the server answers 204 then).
pub fn container_listing_body(
    content_type: &str,
    container: &str,
    entries: &[ListingEntry<ObjectEntry>],
) -> Vec<u8> {
    let mut out = String::new();
    if is_json(content_type) {
        json_listing(&mut out, entries);
    } else if is_xml(content_type) {
        out.push_str(XML_DECL);
        out.push_str("<container name=\"");
        xml_attr(&mut out, container);
        if entries.is_empty() {
            out.push_str("\" />");
            return out.into_bytes();
        }
        out.push_str("\">");
        for e in entries {
            match e {
                ListingEntry::Subdir(d) => {
                    out.push_str("<subdir name=\"");
                    xml_attr(&mut out, d);
                    out.push_str("\">");
                    element(&mut out, "name", d);
                    out.push_str("</subdir>");
                }
                ListingEntry::Item(o) => {
                    let (ct, sb) = split_swift_bytes(&o.content_type);
                    out.push_str("<object>");
                    element(&mut out, "name", &o.name);
                    element(&mut out, "hash", &o.etag);
                    element(&mut out, "bytes", &sb.unwrap_or(o.size).to_string());
                    element(&mut out, "content_type", &ct);
                    element(&mut out, "last_modified", &o.created_at.isoformat());
                    out.push_str("</object>");
                }
            }
        }
        out.push_str("</container>");
    } else {
        plain_listing(&mut out, entries);
    }
    out.into_bytes()
}

/// An account listing body in the given content type; empty for an empty
/// plain listing.
pub fn account_listing_body(
    content_type: &str,
    account: &str,
    entries: &[ListingEntry<ContainerEntry>],
) -> Vec<u8> {
    let mut out = String::new();
    if is_json(content_type) {
        json_listing(&mut out, entries);
    } else if is_xml(content_type) {
        out.push_str(XML_DECL);
        out.push_str("<account name=\"");
        xml_attr(&mut out, account);
        out.push_str("\">\n");
        for e in entries {
            match e {
                ListingEntry::Subdir(d) => {
                    out.push_str("<subdir name=\"");
                    xml_attr(&mut out, d);
                    out.push_str("\" />");
                }
                ListingEntry::Item(c) => {
                    out.push_str("<container>");
                    element(&mut out, "name", &c.name);
                    element(&mut out, "count", &c.object_count.to_string());
                    element(&mut out, "bytes", &c.bytes_used.to_string());
                    element(&mut out, "last_modified", &c.put_timestamp.isoformat());
                    out.push_str("</container>");
                }
            }
            out.push('\n');
        }
        out.push_str("</account>");
    } else {
        plain_listing(&mut out, entries);
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::Timestamp;

    fn obj(name: &str, ct: &str) -> ListingEntry<ObjectEntry> {
        ListingEntry::Item(ObjectEntry {
            name: name.into(),
            created_at: "1700000000.12345".parse().unwrap(),
            size: 3,
            content_type: ct.into(),
            etag: "abc".into(),
        })
    }

    #[test]
    fn negotiates_like_swift() {
        assert_eq!(listing_content_type(None, None), Some("text/plain"));
        assert_eq!(
            listing_content_type(Some("JSON"), Some("text/xml")),
            Some("application/json")
        );
        assert_eq!(
            listing_content_type(Some("bogus"), None),
            Some("text/plain")
        );
        assert_eq!(
            listing_content_type(None, Some("application/json")),
            Some("application/json")
        );
        assert_eq!(
            listing_content_type(None, Some("text/xml")),
            Some("text/xml")
        );
        assert_eq!(listing_content_type(None, Some("*/*")), Some("text/plain"));
        assert_eq!(
            listing_content_type(None, Some("text/plain;q=0.5, application/*")),
            Some("application/json")
        );
        assert_eq!(listing_content_type(None, Some("image/png")), None);
    }

    #[test]
    fn container_json_xml_plain() {
        let entries = vec![
            ListingEntry::Subdir("d/".into()),
            obj("é<&>", "text/plain;swift_bytes=10"),
        ];
        let json =
            String::from_utf8(container_listing_body("application/json", "c", &entries)).unwrap();
        assert_eq!(
            json,
            "[{\"subdir\": \"d/\"}, {\"bytes\": 10, \"hash\": \"abc\", \"name\": \"\\u00e9<&>\", \
             \"content_type\": \"text/plain\", \"last_modified\": \"2023-11-14T22:13:20.123450\"}]"
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v[1]["name"], "é<&>");
        let xml =
            String::from_utf8(container_listing_body("application/xml", "c\"1", &entries)).unwrap();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<container name=\"c&quot;1\">\
             <subdir name=\"d/\"><name>d/</name></subdir><object><name>é&lt;&amp;&gt;</name>\
             <hash>abc</hash><bytes>10</bytes><content_type>text/plain</content_type>\
             <last_modified>2023-11-14T22:13:20.123450</last_modified></object></container>"
        );
        let plain = container_listing_body("text/plain", "c", &entries);
        assert_eq!(plain, "d/\né<&>\n".as_bytes());
        assert!(container_listing_body("text/plain", "c", &[]).is_empty());
        assert_eq!(container_listing_body("application/json", "c", &[]), b"[]");
        assert!(
            String::from_utf8(container_listing_body("text/xml", "c", &[]))
                .unwrap()
                .ends_with("<container name=\"c\" />")
        );
    }

    #[test]
    fn account_json_xml() {
        let entries = vec![
            ListingEntry::Item(ContainerEntry {
                name: "c".into(),
                object_count: 2,
                bytes_used: 5,
                put_timestamp: Timestamp::from_ticks(170_000_000_012_345),
            }),
            ListingEntry::Subdir("p/".into()),
        ];
        let json =
            String::from_utf8(account_listing_body("application/json", "a", &entries)).unwrap();
        assert_eq!(
            json,
            "[{\"name\": \"c\", \"count\": 2, \"bytes\": 5, \"last_modified\": \
             \"2023-11-14T22:13:20.123450\"}, {\"subdir\": \"p/\"}]"
        );
        let xml =
            String::from_utf8(account_listing_body("application/xml", "a", &entries)).unwrap();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<account name=\"a\">\n<container>\
             <name>c</name><count>2</count><bytes>5</bytes>\
             <last_modified>2023-11-14T22:13:20.123450</last_modified></container>\n\
             <subdir name=\"p/\" />\n</account>"
        );
    }
}
