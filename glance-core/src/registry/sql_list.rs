//! `list` as one SQL query for the SQL registries: filters, the visibility
//! policy, sort keys and keyset paging after the marker, so the database
//! does the work with its indexes. It orders exactly as [`super::list`]
//! does in memory: `NULL` sorts before any value, text sorts bytewise, and
//! the id breaks ties in the direction of the last key.
//!
//! Both databases get the same query shape over an `images` table with one
//! column per filter and sort key, and a members table; only placeholders,
//! tag containment and null-safe equality are spelled per [`Dialect`].

use crate::image::access::{MemberStatusFilter, VisibilityFilter};
use crate::registry::{FilterField, ListFilter, ListOptions, SortDir, SortKey, TimeOp};

/// Which database the SQL is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `$n` placeholders, `tags TEXT[]`, table `image_members`.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres,
    /// `?n` placeholders, `tags` as a JSON array, table `members`.
    Sqlite,
}

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    /// Text.
    Text(String),
    /// Text or `NULL`.
    OptText(Option<String>),
    /// An integer.
    Int(i64),
    /// A flag.
    Bool(bool),
    /// A list of tags (PostgreSQL `TEXT[]`; SQLite gets JSON text instead).
    Tags(Vec<String>),
}

/// A query text and its parameters (numbered from 1, in order).
#[derive(Debug)]
pub(crate) struct Query {
    pub(crate) sql: String,
    pub(crate) args: Vec<Arg>,
    dialect: Dialect,
}

impl Query {
    fn new(dialect: Dialect, sql: &str) -> Self {
        Self {
            sql: sql.to_owned(),
            args: Vec::new(),
            dialect,
        }
    }

    /// Adds a parameter; returns its placeholder.
    fn bind(&mut self, v: Arg) -> String {
        self.args.push(v);
        match self.dialect {
            Dialect::Postgres => format!("${}", self.args.len()),
            Dialect::Sqlite => format!("?{}", self.args.len()),
        }
    }

    fn text(&mut self, s: impl Into<String>) -> String {
        self.bind(Arg::Text(s.into()))
    }

    fn members(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => "image_members",
            Dialect::Sqlite => "members",
        }
    }

    fn same(&self, a: &str, b: &str) -> String {
        match self.dialect {
            Dialect::Postgres => format!("{a} IS NOT DISTINCT FROM {b}"),
            Dialect::Sqlite => format!("{a} IS {b}"),
        }
    }

    /// The image's `protected` flag, read from the stored JSON body.
    fn protected_is(&mut self, want: bool) -> String {
        let b = self.bind(Arg::Bool(want));
        match self.dialect {
            Dialect::Postgres => format!("((i.body::jsonb ->> 'protected')::BOOLEAN = {b})"),
            Dialect::Sqlite => format!("(json_extract(i.body, '$.protected') = {b})"),
        }
    }

    /// A custom property equal to `value`, read from the stored JSON body.
    fn property_is(&mut self, key: &str, value: &str) -> String {
        let (k, v) = (self.text(key), self.text(value));
        match self.dialect {
            Dialect::Postgres => format!("((i.body::jsonb -> 'properties' ->> {k}) = {v})"),
            Dialect::Sqlite => format!(
                "EXISTS (SELECT 1 FROM json_each(i.body, '$.properties') p \
                 WHERE p.key = {k} AND p.type = 'text' AND p.value = {v})"
            ),
        }
    }

    /// One [`ListFilter`] as a condition on `i`.
    fn filter(&mut self, f: &ListFilter) -> String {
        match f {
            ListFilter::OneOf { field, values } => {
                let col = match field {
                    FilterField::Id => "id",
                    FilterField::Name => "name",
                    FilterField::Status => "status",
                    FilterField::ContainerFormat => "container_format",
                    FilterField::DiskFormat => "disk_format",
                };
                if values.is_empty() {
                    return "1 = 0".to_owned();
                }
                let list: Vec<String> = values.iter().map(|v| self.text(v.clone())).collect();
                format!("i.{col} IN ({})", list.join(", "))
            }
            ListFilter::SizeMin(n) => {
                let n = self.bind(Arg::Int(i64::try_from(*n).unwrap_or(i64::MAX)));
                format!("(i.size IS NOT NULL AND i.size >= {n})")
            }
            ListFilter::SizeMax(n) => {
                let n = self.bind(Arg::Int(i64::try_from(*n).unwrap_or(i64::MAX)));
                format!("(i.size IS NOT NULL AND i.size <= {n})")
            }
            ListFilter::Time { updated, op, secs } => {
                let col = if *updated { "updated_at" } else { "created_at" };
                let op = match op {
                    TimeOp::Gt => ">",
                    TimeOp::Gte => ">=",
                    TimeOp::Eq => "=",
                    TimeOp::Neq => "<>",
                    TimeOp::Lt => "<",
                    TimeOp::Lte => "<=",
                };
                let t = self.bind(Arg::Int(i64::try_from(*secs).unwrap_or(i64::MAX)));
                format!("i.{col} {op} {t}")
            }
            ListFilter::Protected(p) => self.protected_is(*p),
            ListFilter::Property { key, value } => self.property_is(key, value),
        }
    }

    fn has_tags(&mut self, tags: &[String]) -> String {
        match self.dialect {
            Dialect::Postgres => {
                format!("i.tags @> {}::TEXT[]", self.bind(Arg::Tags(tags.to_vec())))
            }
            Dialect::Sqlite => {
                let json = serde_json::Value::from(tags.to_vec()).to_string();
                let want = self.text(json);
                format!(
                    "NOT EXISTS (SELECT 1 FROM json_each({want}) w \
                     WHERE w.value NOT IN (SELECT value FROM json_each(i.tags)))"
                )
            }
        }
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
    let p = q.bind(Arg::OptText(project));
    let mut w = vec![];
    match opts.status {
        Some(s) => w.push(format!("i.status = {}", q.text(s.as_str()))),
        None => w.push("i.status <> 'deleted'".to_owned()),
    }
    if let Some(o) = &opts.owner {
        w.push(format!("i.owner = {}", q.text(o.as_str())));
    }
    if let Some(n) = &opts.name {
        w.push(format!("i.name = {}", q.text(n.clone())));
    }
    if !opts.tags.is_empty() {
        w.push(q.has_tags(&opts.tags));
    }
    for f in &opts.filters {
        w.push(q.filter(f));
    }
    w.push(format!(
        "i.os_hidden = {}",
        q.bind(Arg::Bool(opts.os_hidden.unwrap_or(false)))
    ));
    if let VisibilityFilter::Only(v) = opts.visibility {
        w.push(format!("i.visibility = {}", q.text(v.as_str())));
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
                MemberStatusFilter::Only(s) => format!("m.status = {}", q.text(s.as_str())),
            };
            any.push(format!("(i.visibility = 'shared' AND {member})"));
            w.push(format!("({})", any.join(" OR ")));
        }
    }
    let members = q.members();
    q.sql.push_str(&format!(
        " FROM images i LEFT JOIN {members} m ON m.image_id = i.id AND m.member = {p} \
         WHERE {}",
        w.join(" AND ")
    ));
}

/// Whether an image of `opts`' listing has the id `marker`: `SELECT 1 …`.
pub(crate) fn marker_check(dialect: Dialect, opts: &ListOptions, marker: String) -> Query {
    let mut q = Query::new(dialect, "SELECT 1");
    from_where(&mut q, opts);
    let m = q.text(marker);
    q.sql.push_str(&format!(" AND i.id = {m}"));
    q
}

/// The page `opts` asks for: `SELECT i.body …` in listing order.
pub(crate) fn page(dialect: Dialect, opts: &ListOptions) -> Query {
    let mut q = Query::new(dialect, "SELECT i.body");
    let keys = sort_keys(opts);
    if let Some(marker) = opts.marker {
        let m = q.text(marker.to_string());
        q.sql = format!("WITH mk AS (SELECT * FROM images WHERE id = {m}) {}", q.sql);
        from_where(&mut q, opts);
        // Rows after the marker: equal on the first j keys, after it on key j.
        let mut any = vec![];
        for (j, &(key, dir)) in keys.iter().enumerate() {
            let mut all: Vec<String> = keys[..j]
                .iter()
                .map(|&(k, _)| {
                    let c = column(k);
                    q.same(&format!("i.{c}"), &format!("(SELECT {c} FROM mk)"))
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
        let l = q.bind(Arg::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
        q.sql.push_str(&format!(" LIMIT {l}"));
    }
    q
}
