//! Minimal XML: escaping for the answers we write by hand, and a bounded
//! reader for the one document S3 clients send us (the part list of
//! CompleteMultipartUpload).

use super::error::S3Error;

/// Escapes text for an XML element or attribute.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#34;", "\"")
        .replace("&amp;", "&")
}

/// The text of the first `<tag>` element in `text`, and what follows it.
fn element<'a>(text: &'a str, tag: &str) -> Option<(String, &'a str)> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find(&close)?;
    Some((
        unescape(text[start..start + len].trim()),
        &text[start + len + close.len()..],
    ))
}

/// The most parts of one upload.
pub(crate) const MAX_PARTS: u32 = 10_000;

/// One `<Part>` of a CompleteMultipartUpload request: number and ETag
/// (without quotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompletedPart {
    pub(crate) number: u32,
    pub(crate) etag: String,
}

/// Parses a CompleteMultipartUpload body; the parts must be in ascending
/// order (`InvalidPartOrder`) and there must be at least one.
pub(crate) fn parse_complete(body: &[u8]) -> Result<Vec<CompletedPart>, S3Error> {
    let text = std::str::from_utf8(body).map_err(|_| S3Error::malformed_xml())?;
    if !text.contains("<CompleteMultipartUpload") {
        return Err(S3Error::malformed_xml());
    }
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some((part, after)) = element(rest, "Part") {
        let (number, _) = element(&part, "PartNumber").ok_or_else(S3Error::malformed_xml)?;
        let number: u32 = number.parse().map_err(|_| S3Error::malformed_xml())?;
        if !(1..=MAX_PARTS).contains(&number) {
            return Err(S3Error::invalid_argument("Part number must be 1..=10000."));
        }
        let (etag, _) = element(&part, "ETag").ok_or_else(S3Error::malformed_xml)?;
        if parts
            .last()
            .is_some_and(|p: &CompletedPart| p.number >= number)
        {
            return Err(S3Error::new(
                400,
                "InvalidPartOrder",
                "The list of parts was not in ascending order.",
            ));
        }
        parts.push(CompletedPart {
            number,
            etag: etag.trim_matches('"').to_string(),
        });
        rest = after;
    }
    if parts.is_empty() {
        return Err(S3Error::malformed_xml());
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
    }

    #[test]
    fn parses_complete_bodies() {
        let body = b"<?xml version=\"1.0\"?><CompleteMultipartUpload xmlns=\"x\">\
            <Part><PartNumber>1</PartNumber><ETag>&quot;aa&quot;</ETag></Part>\
            <Part><ETag>\"bb\"</ETag><PartNumber>3</PartNumber></Part>\
            </CompleteMultipartUpload>";
        let parts = parse_complete(body).unwrap();
        assert_eq!(
            parts,
            vec![
                CompletedPart {
                    number: 1,
                    etag: "aa".into()
                },
                CompletedPart {
                    number: 3,
                    etag: "bb".into()
                },
            ]
        );
        let unordered = b"<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>a</ETag>\
            </Part><Part><PartNumber>1</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>";
        assert_eq!(
            parse_complete(unordered).unwrap_err().code,
            "InvalidPartOrder"
        );
        assert_eq!(
            parse_complete(b"<CompleteMultipartUpload></CompleteMultipartUpload>")
                .unwrap_err()
                .code,
            "MalformedXML"
        );
        assert_eq!(parse_complete(b"junk").unwrap_err().code, "MalformedXML");
        let bad = b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>a</ETag>\
            </Part></CompleteMultipartUpload>";
        assert_eq!(parse_complete(bad).unwrap_err().code, "MalformedXML");
    }
}
