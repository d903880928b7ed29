//! Listing parameters and the marker/prefix/delimiter walk shared by
//! container and account listings.
//!
//! The walk turns one listing request into a few indexed range queries:
//! every query is bounded by the marker, end marker and prefix, and a
//! delimiter hit skips the whole "directory" with one new lower bound
//! instead of scanning its rows.

use crate::error::Result;

/// What a listing asks for (Swift's query parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingParams {
    /// Most entries to return (subdirs count).
    pub limit: usize,
    /// Only names after this one (before it when `reverse`).
    pub marker: String,
    /// Only names before this one (after it when `reverse`); empty = none.
    pub end_marker: String,
    /// Only names starting with this.
    pub prefix: Option<String>,
    /// Roll names up to the first delimiter after the prefix into subdirs.
    pub delimiter: Option<String>,
    /// Pseudo-directory listing: direct children of `path` only.
    pub path: Option<String>,
    /// Newest name first.
    pub reverse: bool,
}

impl Default for ListingParams {
    fn default() -> Self {
        Self {
            limit: 10_000,
            marker: String::new(),
            end_marker: String::new(),
            prefix: None,
            delimiter: None,
            path: None,
            reverse: false,
        }
    }
}

/// One entry of a listing: a row or a rolled-up pseudo-directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListingEntry<T> {
    /// A row of the database.
    Item(T),
    /// A pseudo-directory, ending with the delimiter.
    Subdir(String),
}

/// One indexed range query the walk needs answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RangeQuery {
    /// Lower bound and whether it is inclusive.
    pub(crate) lower: Option<(String, bool)>,
    /// Exclusive upper bound.
    pub(crate) upper: Option<String>,
    /// Descending order.
    pub(crate) reverse: bool,
    /// Most rows.
    pub(crate) limit: usize,
}

impl RangeQuery {
    /// Appends the bounds, order and limit to `sql` (which ends in a
    /// `WHERE` clause) and their values to `args`.
    pub(crate) fn append_sql(&self, sql: &mut String, args: &mut Vec<rusqlite::types::Value>) {
        if let Some((lower, inclusive)) = &self.lower {
            sql.push_str(if *inclusive {
                " AND name >= ?"
            } else {
                " AND name > ?"
            });
            args.push(lower.clone().into());
        }
        if let Some(upper) = &self.upper {
            sql.push_str(" AND name < ?");
            args.push(upper.clone().into());
        }
        sql.push_str(if self.reverse {
            " ORDER BY name DESC LIMIT ?"
        } else {
            " ORDER BY name LIMIT ?"
        });
        args.push(i64::try_from(self.limit).unwrap_or(i64::MAX).into());
    }
}

/// The smallest string greater than every string starting with `s`, or
/// `None` if there is none (last char is `char::MAX`).
pub(crate) fn prefix_upper(s: &str) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    let last = chars.pop()?;
    let next = next_char(last)?;
    chars.push(next);
    Some(chars.into_iter().collect())
}

fn next_char(c: char) -> Option<char> {
    match c {
        '\u{D7FF}' => Some('\u{E000}'),
        char::MAX => None,
        c => char::from_u32(u32::from(c) + 1),
    }
}

/// First batch size of a delimiter listing.
const MIN_BATCH: usize = 16;

/// Runs the listing walk; `fetch` answers one range query with up to
/// `limit` `(name, row)` pairs of live rows in name order.
pub(crate) fn walk<T, F>(params: &ListingParams, mut fetch: F) -> Result<Vec<ListingEntry<T>>>
where
    F: FnMut(&RangeQuery) -> Result<Vec<(String, T)>>,
{
    let reverse = params.reverse;
    // In reverse order the marker is the upper bound and the end marker the
    // lower one.
    let (mut marker, mut end_marker) = if reverse {
        (params.end_marker.clone(), params.marker.clone())
    } else {
        (params.marker.clone(), params.end_marker.clone())
    };
    let path_mode = params.path.is_some();
    let (prefix, delimiter) = match &params.path {
        Some(p) if p.is_empty() => (String::new(), "/".to_string()),
        Some(p) => (format!("{}/", p.trim_end_matches('/')), "/".to_string()),
        None => (
            params.prefix.clone().unwrap_or_default(),
            params.delimiter.clone().unwrap_or_default(),
        ),
    };
    let end_prefix = if prefix.is_empty() {
        None
    } else {
        prefix_upper(&prefix)
    };
    let orig_marker = marker.clone();
    let mut force_gte = false;
    let mut batch = MIN_BATCH;
    let mut results = Vec::new();
    while results.len() < params.limit {
        let upper = match &end_prefix {
            Some(ep) if end_marker.is_empty() || end_marker >= *ep => Some(ep.clone()),
            _ if !end_marker.is_empty() => Some(end_marker.clone()),
            _ => None,
        };
        let lower = if force_gte {
            force_gte = false;
            Some((marker.clone(), true))
        } else if !marker.is_empty() && marker >= prefix {
            Some((marker.clone(), false))
        } else if !prefix.is_empty() {
            Some((prefix.clone(), true))
        } else {
            None
        };
        // With a delimiter one row may end the query (a subdir jump), so
        // ask for small batches that grow while no jump happens.
        let want = params.limit - results.len();
        let ask = if delimiter.is_empty() {
            want
        } else {
            want.min(batch)
        };
        let rows = fetch(&RangeQuery {
            lower,
            upper,
            reverse,
            limit: ask,
        })?;
        if delimiter.is_empty() {
            results.extend(rows.into_iter().map(|(_, r)| ListingEntry::Item(r)));
            return Ok(results);
        }
        let got = rows.len();
        let mut jumped = false;
        for (name, row) in rows {
            if reverse {
                end_marker = name.clone();
            } else {
                marker = name.clone();
            }
            let end = name
                .get(prefix.len()..)
                .and_then(|rest| rest.find(&delimiter))
                .map(|i| i + prefix.len());
            if let Some(end) = end {
                let dir_end = end + delimiter.len();
                if path_mode && (name == prefix || name.len() <= dir_end) {
                    // `path/` itself is skipped; `path/sub/` is a child.
                    if name != prefix {
                        results.push(ListingEntry::Item(row));
                    }
                    continue;
                }
                let dir = name[..dir_end].to_string();
                if reverse {
                    end_marker = dir.clone();
                } else {
                    marker = match prefix_upper(&dir) {
                        Some(m) => m,
                        // Nothing sorts after this directory.
                        None => return Ok(results),
                    };
                    force_gte = true;
                }
                if !path_mode && dir != orig_marker {
                    results.push(ListingEntry::Subdir(dir));
                }
                jumped = true;
                break;
            }
            if path_mode && name == prefix {
                continue;
            }
            results.push(ListingEntry::Item(row));
        }
        if got == 0 || (!jumped && got < ask) {
            break;
        }
        batch = if jumped {
            MIN_BATCH
        } else {
            batch.saturating_mul(2)
        };
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory table answering range queries like the SQL does.
    fn run(names: &[&str], p: &ListingParams) -> Vec<String> {
        let mut sorted: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        sorted.sort();
        let out = walk(p, |q| {
            let mut rows: Vec<(String, String)> = sorted
                .iter()
                .filter(|n| match &q.lower {
                    Some((l, true)) => *n >= l,
                    Some((l, false)) => *n > l,
                    None => true,
                })
                .filter(|n| q.upper.as_ref().is_none_or(|u| *n < u))
                .map(|n| (n.clone(), n.clone()))
                .collect();
            if q.reverse {
                rows.reverse();
            }
            rows.truncate(q.limit);
            Ok(rows)
        })
        .unwrap();
        out.into_iter()
            .map(|e| match e {
                ListingEntry::Item(n) => n,
                ListingEntry::Subdir(d) => format!("D:{d}"),
            })
            .collect()
    }

    const NAMES: &[&str] = &["a", "a/1", "a/2", "b", "b/x/y", "c/", "c/d", "d"];

    #[test]
    fn plain_marker_end_marker_limit() {
        let p = ListingParams {
            marker: "a/1".into(),
            end_marker: "c/".into(),
            ..Default::default()
        };
        assert_eq!(run(NAMES, &p), ["a/2", "b", "b/x/y"]);
        let p = ListingParams {
            limit: 2,
            ..Default::default()
        };
        assert_eq!(run(NAMES, &p), ["a", "a/1"]);
    }

    #[test]
    fn delimiter_rolls_up() {
        let p = ListingParams {
            delimiter: Some("/".into()),
            ..Default::default()
        };
        assert_eq!(run(NAMES, &p), ["a", "D:a/", "b", "D:b/", "D:c/", "d"]);
        let p = ListingParams {
            delimiter: Some("/".into()),
            prefix: Some("b/".into()),
            ..Default::default()
        };
        assert_eq!(run(NAMES, &p), ["D:b/x/"]);
        // A marker equal to a subdir skips it.
        let p = ListingParams {
            delimiter: Some("/".into()),
            marker: "a/".into(),
            ..Default::default()
        };
        assert_eq!(run(NAMES, &p), ["b", "D:b/", "D:c/", "d"]);
        let p = ListingParams {
            delimiter: Some("/".into()),
            limit: 3,
            ..Default::default()
        };
        assert_eq!(run(NAMES, &p), ["a", "D:a/", "b"]);
    }

    #[test]
    fn delimiter_batches_continue() {
        let mut names: Vec<String> = (0..100).map(|i| format!("n{i:03}")).collect();
        names.push("z/1".into());
        names.push("z/2".into());
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let p = ListingParams {
            delimiter: Some("/".into()),
            ..Default::default()
        };
        let out = run(&refs, &p);
        assert_eq!(out.len(), 101);
        assert_eq!(out[99], "n099");
        assert_eq!(out[100], "D:z/");
        let p = ListingParams {
            delimiter: Some("/".into()),
            limit: 50,
            reverse: true,
            ..Default::default()
        };
        let out = run(&refs, &p);
        assert_eq!(out.len(), 50);
        assert_eq!(out[0], "D:z/");
        assert_eq!(out[49], "n051");
    }

    #[test]
    fn reverse_with_and_without_delimiter() {
        let p = ListingParams {
            reverse: true,
            ..Default::default()
        };
        let mut all: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
        all.reverse();
        assert_eq!(run(NAMES, &p), all);
        let p = ListingParams {
            reverse: true,
            delimiter: Some("/".into()),
            ..Default::default()
        };
        assert_eq!(run(NAMES, &p), ["d", "D:c/", "D:b/", "b", "D:a/", "a"]);
        let p = ListingParams {
            reverse: true,
            marker: "c".into(),
            end_marker: "a/1".into(),
            ..Default::default()
        };
        assert_eq!(run(NAMES, &p), ["b/x/y", "b", "a/2"]);
    }

    #[test]
    fn prefix_and_path() {
        let p = ListingParams {
            prefix: Some("a".into()),
            ..Default::default()
        };
        assert_eq!(run(NAMES, &p), ["a", "a/1", "a/2"]);
        let p = ListingParams {
            path: Some("b".into()),
            ..Default::default()
        };
        assert!(run(NAMES, &p).is_empty());
        let p = ListingParams {
            path: Some("c".into()),
            ..Default::default()
        };
        assert_eq!(run(NAMES, &p), ["c/d"]);
        let p = ListingParams {
            path: Some("".into()),
            ..Default::default()
        };
        assert_eq!(run(NAMES, &p), ["a", "b", "c/", "d"]);
    }

    #[test]
    fn upper_bound_of_prefix() {
        assert_eq!(prefix_upper("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_upper("a/").as_deref(), Some("a0"));
        assert_eq!(prefix_upper(""), None);
    }
}
