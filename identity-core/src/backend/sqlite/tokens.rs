//! Tokens in SQLite, keyed by a hash of the bearer secret.

use rusqlite::params;

use super::rows::{exists, one, token_key};
use super::{sql_err, SqliteIdentityBackend, BACKEND};
use crate::error::{Error, Result};
use crate::ids::{TokenId, UserId};
use crate::model::Token;
use crate::time::Timestamp;

pub(super) async fn create(b: &SqliteIdentityBackend, token: &Token) -> Result<()> {
    let key = token_key(&token.id);
    let mut body = serde_json::to_value(token).map_err(|e| Error::Backend {
        backend: BACKEND,
        source: Box::new(e),
    })?;
    // The body must not hold the bearer secret either.
    if let Some(obj) = body.as_object_mut() {
        obj.remove("id");
    }
    let (user, expires) = (token.user.id.clone(), token.expires_at.as_micros());
    b.tx(move |tx| {
        if exists(tx, "SELECT 1 FROM tokens WHERE id_hash = ?1", [&key])? {
            return Err(Error::exists("token"));
        }
        tx.execute(
            "INSERT INTO tokens (id_hash, user_id, expires_at, revoked, body) \
             VALUES (?1, ?2, ?3, 0, ?4)",
            params![key, user.as_str(), expires, body.to_string()],
        )
        .map_err(sql_err)?;
        Ok(())
    })
    .await
}

pub(super) async fn get(b: &SqliteIdentityBackend, id: &TokenId) -> Result<Token> {
    let key = token_key(id);
    let body: String = b
        .tx(move |tx| {
            one(
                tx,
                "SELECT body FROM tokens WHERE id_hash = ?1 AND revoked = 0",
                [&key],
                |r| r.get(0),
                || "token".to_owned(),
            )
        })
        .await?;
    let mut v: serde_json::Value = serde_json::from_str(&body).map_err(|e| Error::Backend {
        backend: BACKEND,
        source: Box::new(e),
    })?;
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "id".to_owned(),
            serde_json::Value::String(id.expose().to_owned()),
        );
    }
    serde_json::from_value(v).map_err(|e| Error::Backend {
        backend: BACKEND,
        source: Box::new(e),
    })
}

pub(super) async fn revoke(b: &SqliteIdentityBackend, id: &TokenId) -> Result<()> {
    let key = token_key(id);
    b.tx(move |tx| {
        match tx
            .execute("UPDATE tokens SET revoked = 1 WHERE id_hash = ?1", [&key])
            .map_err(sql_err)?
        {
            0 => Err(Error::not_found("token")),
            _ => Ok(()),
        }
    })
    .await
}

pub(super) async fn purge(b: &SqliteIdentityBackend, before: Timestamp) -> Result<u64> {
    b.tx(move |tx| {
        tx.execute(
            "DELETE FROM tokens WHERE expires_at <= ?1",
            [before.as_micros()],
        )
        .map(|n| n as u64)
        .map_err(sql_err)
    })
    .await
}

pub(super) async fn revoke_user(b: &SqliteIdentityBackend, user: &UserId) -> Result<u64> {
    let user = user.clone();
    b.tx(move |tx| {
        tx.execute(
            "UPDATE tokens SET revoked = 1 WHERE user_id = ?1 AND revoked = 0",
            [user.as_str()],
        )
        .map(|n| n as u64)
        .map_err(sql_err)
    })
    .await
}
