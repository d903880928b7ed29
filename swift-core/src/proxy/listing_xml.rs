//! Account listings in XML, rendered by the proxy from the account
//! server's JSON (as Swift's `listing_formats` middleware does), with each
//! container's `storage_policy`.

use serde_json::Value;

/// The storage policy every container of this cluster has.
pub(crate) const DEFAULT_POLICY: &str = "Policy-0";

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => escape(s),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// The XML document of an account listing from its JSON rows; `None` if
/// the JSON is not a list.
pub(crate) fn account_xml(account: &str, json: &[u8]) -> Option<String> {
    let Value::Array(rows) = serde_json::from_slice::<Value>(json).ok()? else {
        return None;
    };
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<account name=\"{}\">",
        escape(account)
    );
    for row in &rows {
        if let Some(subdir) = row.get("subdir") {
            let name = text(Some(subdir));
            out.push_str(&format!(
                "<subdir name=\"{name}\"><name>{name}</name></subdir>"
            ));
            continue;
        }
        let policy = row
            .get("storage_policy")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_POLICY);
        out.push_str(&format!(
            "<container><name>{}</name><count>{}</count><bytes>{}</bytes>\
             <last_modified>{}</last_modified><storage_policy>{}</storage_policy></container>",
            text(row.get("name")),
            text(row.get("count")),
            text(row.get("bytes")),
            text(row.get("last_modified")),
            escape(policy),
        ));
    }
    out.push_str("</account>");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_containers_and_subdirs_with_policies() {
        let json =
            br#"[{"name":"a<b","count":2,"bytes":10,"last_modified":"2026-01-01T00:00:00.000000"},
                        {"subdir":"d/"}]"#;
        let xml = account_xml("AUTH_t", json).unwrap();
        assert!(xml
            .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<account name=\"AUTH_t\">"));
        assert!(xml.contains(
            "<container><name>a&lt;b</name><count>2</count><bytes>10</bytes>\
             <last_modified>2026-01-01T00:00:00.000000</last_modified>\
             <storage_policy>Policy-0</storage_policy></container>"
        ));
        assert!(xml.contains("<subdir name=\"d/\"><name>d/</name></subdir>"));
        assert!(xml.ends_with("</account>"));
        assert!(account_xml("a", b"{}").is_none());
    }
}
