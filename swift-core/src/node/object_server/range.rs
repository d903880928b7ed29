//! `Range` request headers (RFC 7233) as Swift's swob interprets them.

use crate::object::ByteRange;

/// Most ranges honoured in one request; more and the header is ignored.
pub const MAX_RANGES: usize = 50;
/// Most overlapping ranges allowed; more and the header is ignored.
const MAX_OVERLAPS: usize = 2;

/// What a `Range` header asks of a body of a known length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable header (absent, invalid or abusive): send the whole body.
    Whole,
    /// These satisfiable ranges, in request order (end exclusive).
    Ranges(Vec<ByteRange>),
    /// A valid header none of whose ranges overlaps the body: 416.
    Unsatisfiable,
}

enum Spec {
    Suffix(u64),
    From(u64),
    Span(u64, u64),
}

fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_specs(header: &str) -> Option<Vec<Spec>> {
    let rest = header.trim().strip_prefix("bytes=")?;
    let mut specs = Vec::new();
    for part in rest.split(',') {
        let part = part.trim();
        let (a, b) = part.split_once('-')?;
        let spec = match (a.trim(), b.trim()) {
            ("", "") => return None,
            ("", n) => Spec::Suffix(number(n)?),
            (s, "") => Spec::From(number(s)?),
            (s, e) => {
                let (s, e) = (number(s)?, number(e)?);
                if e < s {
                    return None;
                }
                Spec::Span(s, e)
            }
        };
        specs.push(spec);
    }
    Some(specs)
}

/// Interprets `header` for a body of `len` bytes.
pub fn parse_range(header: &str, len: u64) -> RangeRequest {
    let Some(specs) = parse_specs(header) else {
        return RangeRequest::Whole;
    };
    let mut out = Vec::new();
    for spec in specs {
        let r = match spec {
            Spec::Suffix(0) => continue,
            Spec::Suffix(n) => (len.saturating_sub(n), len),
            Spec::From(s) if s < len => (s, len),
            Spec::Span(s, e) if s < len => (s, e.saturating_add(1).min(len)),
            _ => continue,
        };
        if r.0 < r.1 {
            out.push(ByteRange {
                start: r.0,
                end: r.1,
            });
        }
    }
    if out.is_empty() {
        return RangeRequest::Unsatisfiable;
    }
    if out.len() > MAX_RANGES || overlaps(&out) > MAX_OVERLAPS {
        return RangeRequest::Whole;
    }
    RangeRequest::Ranges(out)
}

fn overlaps(ranges: &[ByteRange]) -> usize {
    let mut sorted: Vec<&ByteRange> = ranges.iter().collect();
    sorted.sort_by_key(|r| r.start);
    sorted.windows(2).filter(|w| w[1].start < w[0].end).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end }
    }

    #[test]
    fn single_suffix_and_open_ranges() {
        assert_eq!(
            parse_range("bytes=0-4", 10),
            RangeRequest::Ranges(vec![r(0, 5)])
        );
        assert_eq!(
            parse_range("bytes=-3", 10),
            RangeRequest::Ranges(vec![r(7, 10)])
        );
        assert_eq!(
            parse_range("bytes=-30", 10),
            RangeRequest::Ranges(vec![r(0, 10)])
        );
        assert_eq!(
            parse_range("bytes=6-", 10),
            RangeRequest::Ranges(vec![r(6, 10)])
        );
        assert_eq!(
            parse_range("bytes=8-100", 10),
            RangeRequest::Ranges(vec![r(8, 10)])
        );
        assert_eq!(
            parse_range("bytes=0-0, 5-6", 10),
            RangeRequest::Ranges(vec![r(0, 1), r(5, 7)])
        );
    }

    #[test]
    fn unsatisfiable_and_invalid() {
        assert_eq!(parse_range("bytes=10-", 10), RangeRequest::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 10), RangeRequest::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1", 0), RangeRequest::Unsatisfiable);
        for bad in [
            "",
            "bytes=",
            "bytes=5-2",
            "bytes=a-b",
            "items=0-1",
            "bytes=1",
            "bytes=--1",
            "bytes=0-1,",
        ] {
            assert_eq!(parse_range(bad, 10), RangeRequest::Whole, "{bad}");
        }
    }

    #[test]
    fn abusive_ranges_are_ignored() {
        let many: Vec<String> = (0..51).map(|i| format!("{i}-{i}")).collect();
        assert_eq!(
            parse_range(&format!("bytes={}", many.join(",")), 100),
            RangeRequest::Whole
        );
        assert_eq!(
            parse_range("bytes=0-5,1-6,2-7,3-8", 100),
            RangeRequest::Whole
        );
    }
}
