//! Query helpers shared by the PostgreSQL modules.

use serde::de::DeserializeOwned;
use sql_support::pg::tokio_postgres::types::{FromSql, ToSql};
use sql_support::pg::tokio_postgres::{Row, Transaction};

use super::{pg_err, BACKEND};
use crate::db::codec::from_body;
use crate::error::{Error, Result};

/// Query parameters.
pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// One column of a row.
pub(super) fn col<'r, T: FromSql<'r>>(r: &'r Row, i: usize) -> Result<T> {
    r.try_get(i).map_err(pg_err)
}

/// The bodies (first column) of a query's rows, decoded.
pub(super) async fn bodies<T: DeserializeOwned>(
    tx: &Transaction<'_>,
    sql: &str,
    p: Params<'_>,
) -> Result<Vec<T>> {
    let rows = tx.query(sql, p).await.map_err(pg_err)?;
    rows.iter()
        .map(|r| from_body(BACKEND, &col::<String>(r, 0)?))
        .collect()
}

/// The one body a query returns, or `NotFound` naming `what`.
pub(super) async fn body<T: DeserializeOwned>(
    tx: &Transaction<'_>,
    sql: &str,
    p: Params<'_>,
    what: impl FnOnce() -> String,
) -> Result<T> {
    match tx.query_opt(sql, p).await.map_err(pg_err)? {
        Some(r) => from_body(BACKEND, &col::<String>(&r, 0)?),
        None => Err(Error::not_found(what())),
    }
}

/// `true` when the query returns a row.
pub(super) async fn exists(tx: &Transaction<'_>, sql: &str, p: Params<'_>) -> Result<bool> {
    Ok(tx.query_opt(sql, p).await.map_err(pg_err)?.is_some())
}

/// Rows changed by a statement.
pub(super) async fn exec(tx: &Transaction<'_>, sql: &str, p: Params<'_>) -> Result<u64> {
    tx.execute(sql, p).await.map_err(pg_err)
}
