//! The container and account servers' side of database replication:
//! `REPLICATE /<device>/<partition>/<hash>?op=<op>` with
//! `X-Backend-Server-Type: container|account`.
//!
//! - `op=sync`, body a JSON [`SyncInfo`]: merges the sender's status and
//!   answers 200 with this replica's summary, `point` being how far the
//!   sender's rows are already here; 404 when there is no replica.
//! - `op=merge_items`, body a JSON [`MergeItems`]: merges the rows and
//!   records the sender's sync point; 202.
//! - `op=file&source_id=..&source_max_row=..`, body a whole database file
//!   (Swift's rsync): checked, given a new id, then linked into place (201)
//!   or, when a replica appeared meanwhile, merged into it (202).

use std::path::Path;

use super::{
    ensure_tables, merge_info, merge_rows, new_id, rows_since, set_sync_point, sync_info,
    sync_point, MergeItems, SyncInfo,
};
use crate::db::request::{device_ok, error_response, text};
use crate::db::sqlite::{blocking, sql_err, DbFile};
use crate::db::{db_path, DbKind};
use crate::error::{Error, Result};
use crate::hash::PathHash;
use crate::node::{NodeConfig, NodeRequest, NodeResponse};
use crate::stream;

/// Largest JSON body of a sync or merge request.
const MAX_JSON: usize = 64 << 20;
/// Largest database file accepted whole.
const MAX_FILE: usize = 8 << 30;
/// Rows merged per transaction when folding a copied file into a replica.
const MERGE_BATCH: usize = 1000;

/// Serves one `REPLICATE` request for a database of `kind`.
pub(crate) async fn serve(config: &NodeConfig, kind: DbKind, req: NodeRequest) -> NodeResponse {
    if !device_ok(config, &req.device).await {
        return NodeResponse::status(507);
    }
    let Some(hash) = PathHash::from_hex(req.path.trim_matches('/')) else {
        return text(400, "invalid database hash");
    };
    let path = db_path(&config.devices, &req.device, kind, req.partition, &hash);
    let tmp_dir = config.devices.join(&req.device).join("tmp");
    let db = DbFile::new(path.clone(), tmp_dir.clone(), config.fsync);
    let op = req.query_param("op").unwrap_or("").to_string();
    let result = match op.as_str() {
        "sync" => sync(&db, kind, req).await,
        "merge_items" => merge_items(&db, kind, req).await,
        "file" => receive_file(&path, &tmp_dir, config.fsync, kind, req).await,
        _ => return text(400, "unknown replication op"),
    };
    match result {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

async fn json_body<T: serde::de::DeserializeOwned>(req: NodeRequest) -> Result<T> {
    let body = stream::collect(req.body, MAX_JSON).await?;
    serde_json::from_slice(&body).map_err(|_| Error::invalid("malformed replication body"))
}

async fn sync(db: &std::sync::Arc<DbFile>, kind: DbKind, req: NodeRequest) -> Result<NodeResponse> {
    let remote: SyncInfo = json_body(req).await?;
    let mine = db
        .with_conn("database".into(), move |c| {
            ensure_tables(c)?;
            merge_info(c, kind, &remote)?;
            let mut me = sync_info(c, kind)?;
            me.point = sync_point(c, &remote.id, true)?;
            Ok(me)
        })
        .await?;
    let body = serde_json::to_vec(&mine).map_err(|e| Error::Backend {
        backend: "json",
        source: Box::new(e),
    })?;
    let mut r = NodeResponse::with_body(200, body);
    r.headers.set("Content-Type", "application/json");
    Ok(r)
}

async fn merge_items(
    db: &std::sync::Arc<DbFile>,
    kind: DbKind,
    req: NodeRequest,
) -> Result<NodeResponse> {
    let items: MergeItems = json_body(req).await?;
    db.with_conn("database".into(), move |c| {
        ensure_tables(c)?;
        let tx = c
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql_err)?;
        merge_rows(&tx, kind, &items.rows)?;
        set_sync_point(&tx, &items.source_id, true, items.last_row)?;
        tx.commit().map_err(sql_err)
    })
    .await?;
    Ok(NodeResponse::status(202))
}

async fn receive_file(
    path: &Path,
    tmp_dir: &Path,
    fsync: bool,
    kind: DbKind,
    req: NodeRequest,
) -> Result<NodeResponse> {
    let source_id = req.query_param("source_id").unwrap_or("").to_string();
    let source_max_row: i64 = req
        .query_param("source_max_row")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if source_id.is_empty() {
        return Ok(text(400, "missing source_id"));
    }
    let bytes = stream::collect(req.body, MAX_FILE).await?;
    let (path, tmp_dir) = (path.to_path_buf(), tmp_dir.to_path_buf());
    let linked = blocking(move || {
        std::fs::create_dir_all(&tmp_dir).map_err(|e| Error::io("tmp dir", e))?;
        let tmp = tmp_dir.join(format!("{}.db", uuid::Uuid::new_v4().simple()));
        let r = install(&path, &tmp, &bytes, fsync, kind, &source_id, source_max_row);
        let _ = std::fs::remove_file(&tmp);
        r
    })
    .await?;
    Ok(NodeResponse::status(if linked { 201 } else { 202 }))
}

/// Writes the copy to `tmp`, checks it, gives it its own id, then links it
/// to `path` (true) or merges it into the replica already there (false).
fn install(
    path: &Path,
    tmp: &Path,
    bytes: &[u8],
    fsync: bool,
    kind: DbKind,
    source_id: &str,
    source_max_row: i64,
) -> Result<bool> {
    std::fs::write(tmp, bytes).map_err(|e| Error::io("database copy", e))?;
    {
        let c = rusqlite::Connection::open(tmp).map_err(sql_err)?;
        let check: String = c
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(sql_err)?;
        if check != "ok" {
            return Err(Error::Corrupt {
                what: "replicated database copy".into(),
            });
        }
        c.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
            .map_err(sql_err)?;
        new_id(&c)?;
        set_sync_point(&c, source_id, true, source_max_row)?;
        c.close().map_err(|(_, e)| sql_err(e))?;
    }
    if fsync {
        std::fs::File::open(tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io("database copy", e))?;
    }
    if !path.exists() {
        let dir = path
            .parent()
            .ok_or_else(|| Error::invalid("database path has no parent"))?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io("database dir", e))?;
        match std::fs::hard_link(tmp, path) {
            Ok(()) => {
                if fsync {
                    let _ = std::fs::File::open(dir).and_then(|f| f.sync_all());
                }
                return Ok(true);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("database", e)),
        }
    }
    merge_file(path, tmp, kind, source_id, source_max_row)?;
    Ok(false)
}

/// Folds every row and the status of the database at `from` into `into`.
pub(crate) fn merge_file(
    into: &Path,
    from: &Path,
    kind: DbKind,
    source_id: &str,
    source_max_row: i64,
) -> Result<()> {
    let src = rusqlite::Connection::open(from).map_err(sql_err)?;
    let mut dst = rusqlite::Connection::open(into).map_err(sql_err)?;
    dst.busy_timeout(std::time::Duration::from_secs(25))
        .map_err(sql_err)?;
    ensure_tables(&dst)?;
    let info = sync_info(&src, kind)?;
    merge_info(&mut dst, kind, &info)?;
    let mut point = 0;
    loop {
        let (rows, last) = rows_since(&src, kind, point, MERGE_BATCH)?;
        if rows.len() == 0 {
            break;
        }
        let tx = dst
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql_err)?;
        merge_rows(&tx, kind, &rows)?;
        tx.commit().map_err(sql_err)?;
        point = last;
    }
    set_sync_point(&dst, source_id, true, source_max_row)
}
