//! Where a core keeps its state, from one config string.

use std::fmt;
use std::path::PathBuf;

use crate::error::Error;

/// A storage location parsed from config.
///
/// | string | backend |
/// |---|---|
/// | `memory:` or `:memory:` | in memory, gone at exit |
/// | `postgres://…` or `postgresql://…` | PostgreSQL (libpq URL) |
/// | `sqlite:PATH`, `sqlite://PATH` or a plain `PATH` | an SQLite file |
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "String"))]
pub enum Location {
    /// In memory.
    Memory,
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL server.
    Postgres(PgUrl),
}

impl Location {
    /// Parses a location string; `Error::InvalidLocation` when it is empty
    /// or has a scheme we do not know (e.g. `mysql://`).
    pub fn parse(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let invalid = |reason: String| Error::InvalidLocation { reason };
        if s.is_empty() {
            return Err(invalid("empty location".to_owned()));
        }
        if s == "memory:" || s == ":memory:" {
            return Ok(Self::Memory);
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(Self::Postgres(PgUrl::new(s)));
        }
        if let Some(path) = s.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(invalid("sqlite: needs a path".to_owned()));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(invalid(format!("unknown scheme {scheme:?}")));
        }
        Ok(Self::Sqlite(PathBuf::from(s)))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("memory:"),
            Self::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            Self::Postgres(u) => u.fmt(f),
        }
    }
}

impl TryFrom<String> for Location {
    type Error = Error;

    fn try_from(s: String) -> Result<Self, Error> {
        Self::parse(&s)
    }
}

impl std::str::FromStr for Location {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

/// A PostgreSQL connection string (URL or `key=value` form). `Debug` and
/// `Display` hide the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl(String);

impl PgUrl {
    /// Wraps a connection string; it is checked when connecting.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The full string, password included: only for handing to the driver.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The same server and credentials with another database name (URL
    /// form only; a `key=value` string gets `dbname=` appended).
    pub fn with_database(&self, name: &str) -> Self {
        let s = &self.0;
        let Some(scheme_end) = s.find("://").map(|i| i + 3) else {
            return Self(format!("{s} dbname={name}"));
        };
        let (main, query) = match s.find('?') {
            Some(q) => (&s[..q], &s[q..]),
            None => (&s[..], ""),
        };
        let base = match main[scheme_end..].find('/') {
            Some(slash) => &main[..scheme_end + slash],
            None => main,
        };
        Self(format!("{base}/{name}{query}"))
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({:?})", redact(&self.0))
    }
}

const HIDDEN: &str = "<redacted>";

/// Replaces the password of a URL's user info and every `password=` value.
fn redact(s: &str) -> String {
    let mut out = s.to_owned();
    if let Some(start) = out.find("://").map(|i| i + 3) {
        let end = out[start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| start + i);
        if let Some(at) = out[start..end].rfind('@').map(|i| start + i) {
            if let Some(colon) = out[start..at].find(':').map(|i| start + i) {
                out.replace_range(colon + 1..at, HIDDEN);
            }
        }
    }
    let mut from = 0;
    while let Some(i) = out[from..]
        .find("password=")
        .map(|i| from + i + "password=".len())
    {
        let end = out[i..]
            .find(['&', ' ', '\t', '\n'])
            .map_or(out.len(), |e| i + e);
        out.replace_range(i..end, HIDDEN);
        from = i + HIDDEN.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_dispatches_on_scheme() {
        assert_eq!(Location::parse("memory:").unwrap(), Location::Memory);
        assert_eq!(Location::parse(":memory:").unwrap(), Location::Memory);
        for url in ["postgres://u@h/db", "postgresql://h:5432/db"] {
            assert_eq!(
                Location::parse(url).unwrap(),
                Location::Postgres(PgUrl::new(url))
            );
        }
        assert_eq!(
            Location::parse("sqlite:/var/a.db").unwrap(),
            Location::Sqlite("/var/a.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:///var/a.db").unwrap(),
            Location::Sqlite("/var/a.db".into())
        );
        assert_eq!(
            Location::parse("rel/a.db").unwrap(),
            Location::Sqlite("rel/a.db".into())
        );
        for bad in ["", "  ", "sqlite:", "mysql://h/db"] {
            assert!(
                matches!(Location::parse(bad), Err(Error::InvalidLocation { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn passwords_never_show() {
        let cases = [
            (
                "postgres://alice:s3cret@db:5432/x",
                "postgres://alice:<redacted>@db:5432/x",
            ),
            (
                "postgres://alice:s3cret@db",
                "postgres://alice:<redacted>@db",
            ),
            (
                "postgres://db/x?user=a&password=s3cret&sslmode=disable",
                "postgres://db/x?user=a&password=<redacted>&sslmode=disable",
            ),
            (
                "host=db password=s3cret user=a",
                "host=db password=<redacted> user=a",
            ),
            ("postgres://alice@db/x", "postgres://alice@db/x"),
        ];
        for (raw, shown) in cases {
            let loc = Location::Postgres(PgUrl::new(raw));
            assert_eq!(loc.to_string(), shown);
            assert!(!format!("{loc:?}").contains("s3cret"));
        }
    }

    #[test]
    fn with_database_swaps_the_path() {
        let u = PgUrl::new("postgres://a:p@h:1/postgres?sslmode=disable");
        assert_eq!(
            u.with_database("t1").expose(),
            "postgres://a:p@h:1/t1?sslmode=disable"
        );
        assert_eq!(
            PgUrl::new("postgres://h").with_database("t2").expose(),
            "postgres://h/t2"
        );
    }
}
