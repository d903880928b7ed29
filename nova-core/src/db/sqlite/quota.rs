//! Quota limits and usage. Reservations run inside the immediate
//! transaction, which holds SQLite's write lock from the first read: the
//! check and the update cannot interleave with another reservation.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension, Transaction};

use super::sql_err;
pub(super) use crate::db::codec::Adjust;
use crate::db::codec::{self, amount, amount_of, merged};
use crate::error::Result;
use crate::model::{ProjectId, QuotaLimits, QuotaResource, QuotaUsage};

pub(super) fn set_limits(tx: &Transaction<'_>, p: &ProjectId, l: &QuotaLimits) -> Result<()> {
    let mut st = tx
        .prepare_cached(
            "INSERT INTO quota_limits (project_id, resource, hard_limit) VALUES (?1, ?2, ?3)
             ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit",
        )
        .map_err(sql_err)?;
    for (r, limit) in &l.0 {
        st.execute(params![p.as_str(), r.as_str(), limit.map(amount)])
            .map_err(sql_err)?;
    }
    Ok(())
}

pub(super) fn limits(tx: &Transaction<'_>, p: &ProjectId) -> Result<QuotaLimits> {
    let mut out = QuotaLimits::default();
    let mut st = tx
        .prepare_cached("SELECT resource, hard_limit FROM quota_limits WHERE project_id = ?1")
        .map_err(sql_err)?;
    let rows = st
        .query_map([p.as_str()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
        })
        .map_err(sql_err)?;
    for row in rows {
        let (r, l) = row.map_err(sql_err)?;
        if let Some(r) = QuotaResource::ALL.iter().find(|x| x.as_str() == r) {
            out.set(*r, l.map(amount_of));
        }
    }
    Ok(out)
}

fn get_usage(tx: &Transaction<'_>, p: &ProjectId, r: QuotaResource) -> Result<QuotaUsage> {
    Ok(tx
        .query_row(
            "SELECT in_use, reserved FROM quota_usages WHERE project_id = ?1 AND resource = ?2",
            [p.as_str(), r.as_str()],
            |row| {
                Ok(QuotaUsage {
                    in_use: amount_of(row.get(0)?),
                    reserved: amount_of(row.get(1)?),
                })
            },
        )
        .optional()
        .map_err(sql_err)?
        .unwrap_or_default())
}

fn put_usage(tx: &Transaction<'_>, p: &ProjectId, r: QuotaResource, u: QuotaUsage) -> Result<()> {
    tx.execute(
        "INSERT INTO quota_usages (project_id, resource, in_use, reserved) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (project_id, resource)
         DO UPDATE SET in_use = excluded.in_use, reserved = excluded.reserved",
        params![p.as_str(), r.as_str(), amount(u.in_use), amount(u.reserved)],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub(super) fn usage(
    tx: &Transaction<'_>,
    p: &ProjectId,
) -> Result<BTreeMap<QuotaResource, QuotaUsage>> {
    QuotaResource::ALL
        .iter()
        .map(|r| Ok((*r, get_usage(tx, p, *r)?)))
        .collect()
}

pub(super) fn reserve(
    tx: &Transaction<'_>,
    p: &ProjectId,
    deltas: &[(QuotaResource, u64)],
) -> Result<()> {
    let l = limits(tx, p)?;
    let mut next = Vec::new();
    for (r, d) in merged(deltas) {
        next.push((
            r,
            codec::check_reserve(r, l.get(r), get_usage(tx, p, r)?, d)?,
        ));
    }
    for (r, u) in next {
        put_usage(tx, p, r, u)?;
    }
    Ok(())
}

pub(super) fn adjust(
    tx: &Transaction<'_>,
    p: &ProjectId,
    deltas: &[(QuotaResource, u64)],
    how: Adjust,
) -> Result<()> {
    for (r, d) in merged(deltas) {
        let u = codec::adjust(how, get_usage(tx, p, r)?, d);
        put_usage(tx, p, r, u)?;
    }
    Ok(())
}
