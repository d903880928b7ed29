//! `GET /v2/images`: query parsing (filters, sorting, paging) and the
//! paged answer with `first` and `next`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, RawQuery, State};
use axum::{Extension, Json};
use glance_core::image::access::{Caller, MemberStatusFilter, VisibilityFilter};
use glance_core::registry::{FilterField, ListFilter, ListOptions, SortDir, SortKey};
use glance_core::ProjectId;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::images::ApiResult;
use crate::router::AppState;
use crate::wire::{image_json, parse_time};

const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 1000;

/// Glance's sort keys for images.
const SORT_KEYS: &[&str] = &[
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
];

fn sort_key(k: &str) -> ApiResult<SortKey> {
    if !SORT_KEYS.contains(&k) {
        return Err(ApiError::bad_request(format!("Invalid sort key: {k}")));
    }
    Ok(k.parse()?)
}

/// Splits `a,"b,c",d` on commas outside double quotes.
fn split_values(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in v.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn one_of(field: FilterField, v: &str) -> Option<ListFilter> {
    v.strip_prefix("in:").map(|rest| ListFilter::OneOf {
        field,
        values: split_values(rest),
    })
}

/// A query flag as Glance reads it (oslo's `bool_from_string`, strict):
/// `true`/`1`/`t`/`on`/`y`/`yes` and their opposites, any case. openstacksdk
/// sends Python's `True`.
fn boolean(k: &str, v: &str) -> ApiResult<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "t" | "on" | "y" | "yes" => Ok(true),
        "false" | "0" | "f" | "off" | "n" | "no" => Ok(false),
        _ => Err(ApiError::bad_request(format!("{k} must be true or false"))),
    }
}

fn time_filter(updated: bool, v: &str) -> ApiResult<ListFilter> {
    let bad = || ApiError::bad_request(format!("bad time filter {v:?}"));
    let (op, t) = v.split_once(':').ok_or_else(bad)?;
    Ok(ListFilter::Time {
        updated,
        op: op.parse()?,
        secs: parse_time(t).ok_or_else(bad)?,
    })
}

fn parse_sort(opts: &mut ListOptions, params: &[(String, String)]) -> ApiResult<()> {
    let keys: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "sort_key")
        .map(|(_, v)| v.as_str())
        .collect();
    let dirs: Vec<SortDir> = params
        .iter()
        .filter(|(k, _)| k == "sort_dir")
        .map(|(_, v)| v.parse())
        .collect::<Result<_, _>>()?;
    let sort: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "sort")
        .map(|(_, v)| v.as_str())
        .collect();
    if !sort.is_empty() {
        if !keys.is_empty() || !dirs.is_empty() {
            return Err(ApiError::bad_request(
                "the sort parameter cannot be mixed with sort_key or sort_dir",
            ));
        }
        for part in sort.iter().flat_map(|s| s.split(',')) {
            let (k, d) = part.split_once(':').unwrap_or((part, "desc"));
            opts.sort.push((sort_key(k.trim())?, d.trim().parse()?));
        }
        return Ok(());
    }
    if dirs.len() > 1 && dirs.len() != keys.len() {
        return Err(ApiError::bad_request(
            "the number of sort_dir must be 1 or match sort_key",
        ));
    }
    let mut keys: Vec<SortKey> = keys.into_iter().map(sort_key).collect::<Result<_, _>>()?;
    if keys.is_empty() && !dirs.is_empty() {
        keys.push(SortKey::CreatedAt);
    }
    opts.sort = keys
        .into_iter()
        .enumerate()
        .map(|(i, k)| (k, dirs.get(i).or(dirs.first()).copied().unwrap_or_default()))
        .collect();
    Ok(())
}

pub(crate) fn parse_list(params: &[(String, String)]) -> ApiResult<ListOptions> {
    let mut opts = ListOptions::default();
    let mut limit = DEFAULT_LIMIT;
    parse_sort(&mut opts, params)?;
    for (k, v) in params {
        let k = k.as_str();
        match k {
            "sort_key" | "sort_dir" | "sort" => {}
            "limit" => {
                limit = v
                    .parse::<usize>()
                    .map_err(|_| ApiError::bad_request("limit param must be an integer"))?
                    .min(MAX_LIMIT);
            }
            "marker" => {
                let bad = || ApiError::bad_request(format!("No image found with ID {v}"));
                opts.marker = Some(v.parse().map_err(|_| bad())?);
            }
            "name" => match one_of(FilterField::Name, v) {
                Some(f) => opts.filters.push(f),
                None => opts.name = Some(v.clone()),
            },
            "status" => match one_of(FilterField::Status, v) {
                Some(f) => opts.filters.push(f),
                None => opts.status = Some(v.parse()?),
            },
            "id" | "container_format" | "disk_format" => {
                let field = match k {
                    "id" => FilterField::Id,
                    "container_format" => FilterField::ContainerFormat,
                    _ => FilterField::DiskFormat,
                };
                opts.filters
                    .push(one_of(field, v).unwrap_or(ListFilter::OneOf {
                        field,
                        values: vec![v.clone()],
                    }));
            }
            "owner" => opts.owner = Some(ProjectId::new(v.clone())?),
            "tag" => opts.tags.push(v.clone()),
            "os_hidden" => opts.os_hidden = Some(boolean(k, v)?),
            "protected" => opts.filters.push(ListFilter::Protected(boolean(k, v)?)),
            "visibility" => {
                opts.visibility = if v == "all" {
                    VisibilityFilter::All
                } else {
                    VisibilityFilter::Only(v.parse()?)
                }
            }
            "member_status" => {
                opts.member_status = if v == "all" {
                    MemberStatusFilter::All
                } else {
                    MemberStatusFilter::Only(v.parse()?)
                }
            }
            "size_min" | "size_max" => {
                let n = v
                    .parse::<u64>()
                    .map_err(|_| ApiError::bad_request(format!("{k} must be an integer")))?;
                opts.filters.push(if k == "size_min" {
                    ListFilter::SizeMin(n)
                } else {
                    ListFilter::SizeMax(n)
                });
            }
            "created_at" | "updated_at" => opts.filters.push(time_filter(k == "updated_at", v)?),
            _ => opts.filters.push(ListFilter::Property {
                key: k.to_owned(),
                value: v.clone(),
            }),
        }
    }
    opts.limit = Some(limit);
    Ok(opts)
}

/// `GET /v2/images`: filters, sorting and marker paging with `next`.
pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let opts = parse_list(&params)?;
    let limit = opts.limit.unwrap_or(DEFAULT_LIMIT);
    let images = state.service.list(&caller, opts).await?;
    let rest: Vec<&str> = raw
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("marker="))
        .collect();
    let query = rest.join("&");
    let first = if query.is_empty() {
        "/v2/images".to_owned()
    } else {
        format!("/v2/images?{query}")
    };
    let mut body = json!({
        "images": images.iter().map(image_json).collect::<Vec<_>>(),
        "first": first,
        "schema": "/v2/schemas/images",
    });
    if let (Some(last), true) = (images.last(), limit > 0 && images.len() == limit) {
        let sep = if query.is_empty() { "" } else { "&" };
        body["next"] = json!(format!("/v2/images?{query}{sep}marker={}", last.id));
    }
    Ok(Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Vec<(String, String)> {
        s.split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn flags_read_like_oslo() {
        for t in ["true", "True", "1", "yes", "ON"] {
            assert!(boolean("os_hidden", t).unwrap(), "{t}");
        }
        for f in ["false", "False", "0", "no", "off"] {
            assert!(!boolean("os_hidden", f).unwrap(), "{f}");
        }
        assert!(boolean("os_hidden", "maybe").is_err());
    }

    #[test]
    fn parses_sorts_and_filters() {
        let o = parse_list(&q("sort=name:asc,size")).unwrap();
        assert_eq!(
            o.sort,
            [
                (SortKey::Name, SortDir::Asc),
                (SortKey::Size, SortDir::Desc)
            ]
        );
        assert!(parse_list(&q("sort=name&sort_key=size")).is_err());
        assert!(parse_list(&q("sort_key=owner")).is_err());
        assert!(parse_list(&q(
            "sort_key=name&sort_key=size&sort_dir=asc&sort_dir=desc&sort_dir=asc"
        ))
        .is_err());
        let o = parse_list(&q(
            "name=in:a,\"b,c\"&size_min=5&created_at=gte:2026-01-01T00:00:00Z&hw=x",
        ))
        .unwrap();
        assert_eq!(
            o.filters[0],
            ListFilter::OneOf {
                field: FilterField::Name,
                values: vec!["a".into(), "b,c".into()]
            }
        );
        assert_eq!(o.filters[1], ListFilter::SizeMin(5));
        assert!(matches!(
            o.filters[2],
            ListFilter::Time { updated: false, .. }
        ));
        assert_eq!(
            o.filters[3],
            ListFilter::Property {
                key: "hw".into(),
                value: "x".into()
            }
        );
        assert_eq!(parse_list(&q("limit=5000")).unwrap().limit, Some(1000));
        assert!(parse_list(&q("limit=-1")).is_err());
        assert!(parse_list(&q("created_at=soon")).is_err());
    }
}
