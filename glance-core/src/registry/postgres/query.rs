//! `list` as one SQL query: filters, the visibility policy, sort keys and
//! keyset paging after the marker, so the database does the work with its
//! indexes. It orders exactly as [`crate::registry::list`] does in memory:
//! `NULL` sorts before any value, text sorts bytewise, and the id breaks
//! ties in the direction of the last key.

use sql_support::pg::tokio_postgres::types::ToSql;

use crate::image::access::{MemberStatusFilter, VisibilityFilter};
use crate::registry::{ListOptions, SortDir, SortKey};

/// A query text and its parameters (`$1`, `$2`, … in order).
#[derive(Debug, Default)]
pub(super) struct Query {
    pub(super) sql: String,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Query {
    /// Adds a parameter; returns its placeholder.
    fn bind(&mut self, v: impl ToSql + Sync + Send + 'static) -> String {
        self.params.push(Box::new(v));
        format!("${}", self.params.len())
    }

    pub(super) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| &**p as &(dyn ToSql + Sync))
            .collect()
    }
}

fn column(key: SortKey) -> &'static str {
    match key {
        SortKey::Name => "name",
        SortKey::Status => "status",
        SortKey::ContainerFormat => "container_format",
        SortKey::DiskFormat => "disk_format",
        SortKey::Size => "size",
        SortKey::Id => "id",
        SortKey::CreatedAt => "created_at",
        SortKey::UpdatedAt => "updated_at",
        SortKey::Visibility => "visibility",
        SortKey::Owner => "owner",
        SortKey::MinDisk => "min_disk",
        SortKey::MinRam => "min_ram",
    }
}

/// The sort keys with the id tie-breaker appended.
fn sort_keys(opts: &ListOptions) -> Vec<(SortKey, SortDir)> {
    let mut keys = if opts.sort.is_empty() {
        vec![(SortKey::CreatedAt, SortDir::Desc)]
    } else {
        opts.sort.clone()
    };
    let last = keys.last().map(|k| k.1).unwrap_or_default();
    keys.push((SortKey::Id, last));
    keys
}

/// `FROM … WHERE …` selecting the images `opts` lists, as `i`, with the
/// caller project's member record as `m`.
fn from_where(q: &mut Query, opts: &ListOptions) {
    let project = opts
        .caller
        .as_ref()
        .and_then(|c| c.project.as_ref())
        .map(|p| p.as_str().to_owned());
    let p = q.bind(project);
    let mut w = vec![];
    match opts.status {
        Some(s) => w.push(format!("i.status = {}", q.bind(s.as_str()))),
        None => w.push("i.status <> 'deleted'".to_owned()),
    }
    if let Some(o) = &opts.owner {
        w.push(format!("i.owner = {}", q.bind(o.as_str().to_owned())));
    }
    if let Some(n) = &opts.name {
        w.push(format!("i.name = {}", q.bind(n.clone())));
    }
    if !opts.tags.is_empty() {
        w.push(format!("i.tags @> {}::TEXT[]", q.bind(opts.tags.clone())));
    }
    w.push(format!(
        "i.os_hidden = {}",
        q.bind(opts.os_hidden.unwrap_or(false))
    ));
    if let VisibilityFilter::Only(v) = opts.visibility {
        w.push(format!("i.visibility = {}", q.bind(v.as_str())));
    }
    // The policy of `access::is_listed`, as SQL.
    if let Some(caller) = &opts.caller {
        w.push("i.status <> 'deleted'".to_owned());
        if !caller.is_admin {
            let mut any = vec![
                format!("i.owner = {p}"),
                "i.visibility = 'public'".to_owned(),
            ];
            if opts.visibility != VisibilityFilter::Default {
                any.push("i.visibility = 'community'".to_owned());
            }
            let member = match opts.member_status {
                MemberStatusFilter::All => "m.status IS NOT NULL".to_owned(),
                MemberStatusFilter::Only(s) => format!("m.status = {}", q.bind(s.as_str())),
            };
            any.push(format!("(i.visibility = 'shared' AND {member})"));
            w.push(format!("({})", any.join(" OR ")));
        }
    }
    q.sql.push_str(&format!(
        " FROM images i LEFT JOIN image_members m ON m.image_id = i.id AND m.member = {p} \
         WHERE {}",
        w.join(" AND ")
    ));
}

/// Whether an image of `opts`' listing has the id `marker`: `SELECT 1 …`.
pub(super) fn marker_check(opts: &ListOptions, marker: String) -> Query {
    let mut q = Query {
        sql: "SELECT 1".to_owned(),
        ..Query::default()
    };
    from_where(&mut q, opts);
    let m = q.bind(marker);
    q.sql.push_str(&format!(" AND i.id = {m}"));
    q
}

/// The page `opts` asks for: `SELECT i.body …` in listing order.
pub(super) fn page(opts: &ListOptions) -> Query {
    let mut q = Query {
        sql: "SELECT i.body".to_owned(),
        ..Query::default()
    };
    let keys = sort_keys(opts);
    if let Some(marker) = opts.marker {
        let m = q.bind(marker.to_string());
        q.sql = format!("WITH mk AS (SELECT * FROM images WHERE id = {m}) {}", q.sql);
        from_where(&mut q, opts);
        // Rows after the marker: equal on the first j keys, after it on key j.
        let mut any = vec![];
        for (j, &(key, dir)) in keys.iter().enumerate() {
            let mut all: Vec<String> = keys[..j]
                .iter()
                .map(|&(k, _)| {
                    let c = column(k);
                    format!("i.{c} IS NOT DISTINCT FROM (SELECT {c} FROM mk)")
                })
                .collect();
            let c = column(key);
            all.push(match dir {
                SortDir::Asc => format!(
                    "(i.{c} > (SELECT {c} FROM mk) OR \
                     ((SELECT {c} FROM mk) IS NULL AND i.{c} IS NOT NULL))"
                ),
                SortDir::Desc => format!(
                    "(i.{c} < (SELECT {c} FROM mk) OR \
                     ((SELECT {c} FROM mk) IS NOT NULL AND i.{c} IS NULL))"
                ),
            });
            any.push(format!("({})", all.join(" AND ")));
        }
        q.sql.push_str(&format!(" AND ({})", any.join(" OR ")));
    } else {
        from_where(&mut q, opts);
    }
    let order: Vec<String> = keys
        .iter()
        .map(|&(k, d)| match d {
            SortDir::Asc => format!("i.{} ASC NULLS FIRST", column(k)),
            SortDir::Desc => format!("i.{} DESC NULLS LAST", column(k)),
        })
        .collect();
    q.sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
    if let Some(limit) = opts.limit {
        let l = q.bind(i64::try_from(limit).unwrap_or(i64::MAX));
        q.sql.push_str(&format!(" LIMIT {l}"));
    }
    q
}
