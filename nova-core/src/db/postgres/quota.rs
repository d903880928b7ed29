//! Quota limits and usage. A reservation creates the missing usage rows,
//! then locks each with `SELECT … FOR UPDATE` in one fixed order (so two
//! reservations never deadlock), checks and updates them in the same
//! transaction: concurrent reservations queue on the row locks and each
//! sees the previous one's result.

use std::collections::BTreeMap;

use sql_support::pg::tokio_postgres::Transaction;

use super::pg_err;
use super::rows::{col, exec};
pub(super) use crate::db::codec::Adjust;
use crate::db::codec::{self, amount, amount_of, merged};
use crate::error::Result;
use crate::model::{ProjectId, QuotaLimits, QuotaResource, QuotaUsage};

pub(super) async fn set_limits(tx: &Transaction<'_>, p: &ProjectId, l: &QuotaLimits) -> Result<()> {
    for (r, limit) in &l.0 {
        exec(
            tx,
            "INSERT INTO quota_limits (project_id, resource, hard_limit) VALUES ($1, $2, $3)
             ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit",
            &[&p.as_str(), &r.as_str(), &limit.map(amount)],
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn limits(tx: &Transaction<'_>, p: &ProjectId) -> Result<QuotaLimits> {
    let mut out = QuotaLimits::default();
    let rows = tx
        .query(
            "SELECT resource, hard_limit FROM quota_limits WHERE project_id = $1",
            &[&p.as_str()],
        )
        .await
        .map_err(pg_err)?;
    for row in &rows {
        let r: String = col(row, 0)?;
        if let Some(r) = QuotaResource::ALL.iter().find(|x| x.as_str() == r) {
            out.set(*r, col::<Option<i64>>(row, 1)?.map(amount_of));
        }
    }
    Ok(out)
}

/// The usage row of `r`, created if missing and locked until commit.
async fn locked_usage(tx: &Transaction<'_>, p: &ProjectId, r: QuotaResource) -> Result<QuotaUsage> {
    exec(
        tx,
        "INSERT INTO quota_usages (project_id, resource, in_use, reserved) VALUES ($1, $2, 0, 0)
         ON CONFLICT (project_id, resource) DO NOTHING",
        &[&p.as_str(), &r.as_str()],
    )
    .await?;
    let row = tx
        .query_one(
            "SELECT in_use, reserved FROM quota_usages
             WHERE project_id = $1 AND resource = $2 FOR UPDATE",
            &[&p.as_str(), &r.as_str()],
        )
        .await
        .map_err(pg_err)?;
    Ok(QuotaUsage {
        in_use: amount_of(col(&row, 0)?),
        reserved: amount_of(col(&row, 1)?),
    })
}

async fn put_usage(
    tx: &Transaction<'_>,
    p: &ProjectId,
    r: QuotaResource,
    u: QuotaUsage,
) -> Result<()> {
    exec(
        tx,
        "UPDATE quota_usages SET in_use = $3, reserved = $4 WHERE project_id = $1 AND resource = $2",
        &[&p.as_str(), &r.as_str(), &amount(u.in_use), &amount(u.reserved)],
    )
    .await?;
    Ok(())
}

pub(super) async fn usage(
    tx: &Transaction<'_>,
    p: &ProjectId,
) -> Result<BTreeMap<QuotaResource, QuotaUsage>> {
    let mut out: BTreeMap<_, _> = QuotaResource::ALL
        .iter()
        .map(|r| (*r, QuotaUsage::default()))
        .collect();
    let rows = tx
        .query(
            "SELECT resource, in_use, reserved FROM quota_usages WHERE project_id = $1",
            &[&p.as_str()],
        )
        .await
        .map_err(pg_err)?;
    for row in &rows {
        let r: String = col(row, 0)?;
        if let Some(r) = QuotaResource::ALL.iter().find(|x| x.as_str() == r) {
            out.insert(
                *r,
                QuotaUsage {
                    in_use: amount_of(col(row, 1)?),
                    reserved: amount_of(col(row, 2)?),
                },
            );
        }
    }
    Ok(out)
}

pub(super) async fn reserve(
    tx: &Transaction<'_>,
    p: &ProjectId,
    deltas: &[(QuotaResource, u64)],
) -> Result<()> {
    let l = limits(tx, p).await?;
    let mut next = Vec::new();
    for (r, d) in merged(deltas) {
        let u = locked_usage(tx, p, r).await?;
        next.push((r, codec::check_reserve(r, l.get(r), u, d)?));
    }
    for (r, u) in next {
        put_usage(tx, p, r, u).await?;
    }
    Ok(())
}

pub(super) async fn adjust(
    tx: &Transaction<'_>,
    p: &ProjectId,
    deltas: &[(QuotaResource, u64)],
    how: Adjust,
) -> Result<()> {
    for (r, d) in merged(deltas) {
        let u = codec::adjust(how, locked_usage(tx, p, r).await?, d);
        put_usage(tx, p, r, u).await?;
    }
    Ok(())
}
