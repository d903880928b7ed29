//! PUT, POST and DELETE: new versions, metadata updates, tombstones.

use super::{
    check_delete_at, collect_meta, conditional, delete_at, error_response, is_expired,
    is_system_meta, is_user_meta, request_timestamp, text, with_backend_ts, AsyncPending,
    ObjectServer,
};
use crate::error::Error;
use crate::headers::Headers;
use crate::names::{Constraints, MetaKind};
use crate::node::NodeResponse;
use crate::object::{MetadataUpdate, NewObject, ObjectLocation, ObjectState, PutOptions};
use crate::stream::ByteStream;

impl ObjectServer {
    pub(super) async fn put(
        &self,
        h: &Headers,
        body: ByteStream,
        loc: &ObjectLocation,
        (account, container, object): (String, String, String),
    ) -> NodeResponse {
        let ts = match request_timestamp(h) {
            Ok(t) => t,
            Err(r) => return r,
        };
        let constraints = Constraints::default();
        let expected_length = match h.get("content-length").map(|v| v.trim().parse::<u64>()) {
            None => None,
            Some(Ok(n)) if n > constraints.max_file_size => {
                return text(413, "Request Entity Too Large")
            }
            Some(Ok(n)) => Some(n),
            Some(Err(_)) => return text(400, "Invalid Content-Length"),
        };
        let Some(content_type) = h.get("content-type").filter(|c| !c.is_empty()) else {
            return text(400, "No content type");
        };
        if let Err(r) = check_delete_at(h) {
            return r;
        }
        if let Err(e) = constraints.check_metadata(h, MetaKind::Object) {
            return error_response(&e);
        }
        let current = match self.backend.open(loc).await {
            Ok(s) => s,
            Err(e) => return error_response(&e),
        };
        if let Some(cur) = current.timestamp() {
            if cur >= ts {
                return with_backend_ts(text(409, "Conflict"), Some(cur));
            }
        }
        if let (Some(inm), ObjectState::Present(m)) = (h.get("if-none-match"), &current) {
            if !is_expired(m) && conditional::etag_matches(inm, &m.etag) {
                return with_backend_ts(text(412, "Precondition Failed"), Some(m.timestamp));
            }
        }
        let obj = NewObject {
            name: format!("/{account}/{container}/{object}"),
            timestamp: ts,
            content_type: content_type.to_string(),
            user_meta: collect_meta(h, is_user_meta),
            system_meta: collect_meta(h, is_system_meta),
        };
        let opts = PutOptions {
            expected_etag: h
                .get("etag")
                .map(|e| e.trim().trim_matches('"').to_ascii_lowercase()),
            expected_length,
        };
        let meta = match self.backend.put(loc, obj, body, opts).await {
            Ok(m) => m,
            Err(Error::Conflict { .. }) => {
                let cur = self
                    .backend
                    .open(loc)
                    .await
                    .ok()
                    .and_then(|s| s.timestamp());
                return with_backend_ts(text(409, "Conflict"), cur);
            }
            // The body did not have the announced length.
            Err(Error::InvalidInput { .. }) => return text(499, "Client Disconnect"),
            Err(e) => return error_response(&e),
        };
        let mut update_headers = vec![
            ("x-size".to_string(), meta.content_length.to_string()),
            ("x-content-type".to_string(), meta.content_type.clone()),
            ("x-etag".to_string(), meta.etag.clone()),
            ("x-timestamp".to_string(), ts.internal()),
        ];
        let overrides = meta
            .system_meta
            .iter()
            .filter_map(|(n, v)| {
                Some((
                    n.strip_prefix("x-object-sysmeta-container-update-override-")?,
                    v.as_str(),
                ))
            })
            .chain(h.iter().filter_map(|(n, v)| {
                Some((n.strip_prefix("x-backend-container-update-override-")?, v))
            }));
        let mut upd: Headers = update_headers.drain(..).collect();
        for (name, value) in overrides {
            upd.set(format!("x-{name}"), value);
        }
        copy_passthrough(h, &mut upd);
        let pending = AsyncPending {
            op: "PUT".into(),
            account,
            container,
            obj: object,
            headers: upd.into_iter().collect(),
            container_partition: None,
            successes: Vec::new(),
        };
        self.container_update(h, &loc.device, pending, ts).await;
        let mut r = NodeResponse::status(201);
        r.headers.set("etag", meta.etag);
        r.headers.set("content-length", "0");
        r
    }

    pub(super) async fn post(&self, h: &Headers, loc: &ObjectLocation) -> NodeResponse {
        let ts = match request_timestamp(h) {
            Ok(t) => t,
            Err(r) => return r,
        };
        if let Err(r) = check_delete_at(h) {
            return r;
        }
        if let Err(e) = Constraints::default().check_metadata(h, MetaKind::Object) {
            return error_response(&e);
        }
        let meta = match self.backend.open(loc).await {
            Ok(ObjectState::Present(m)) if !is_expired(&m) => m,
            Ok(ObjectState::Present(m)) => {
                return with_backend_ts(text(404, "Not Found"), Some(m.effective_timestamp()))
            }
            Ok(ObjectState::Deleted { timestamp }) => {
                return with_backend_ts(text(404, "Not Found"), Some(timestamp))
            }
            Ok(ObjectState::Missing) => return text(404, "Not Found"),
            Err(e) => return error_response(&e),
        };
        if meta.effective_timestamp() >= ts {
            return with_backend_ts(text(409, "Conflict"), Some(meta.effective_timestamp()));
        }
        let update = MetadataUpdate {
            timestamp: ts,
            user_meta: collect_meta(h, is_user_meta),
        };
        match self.backend.post(loc, update).await {
            Ok(()) => {
                let mut r = NodeResponse::status(202);
                r.headers.set("content-length", "0");
                r
            }
            Err(e) => error_response(&e),
        }
    }

    pub(super) async fn delete(
        &self,
        h: &Headers,
        loc: &ObjectLocation,
        (account, container, object): (String, String, String),
    ) -> NodeResponse {
        let ts = match request_timestamp(h) {
            Ok(t) => t,
            Err(r) => return r,
        };
        let state = match self.backend.open(loc).await {
            Ok(s) => s,
            Err(e) => return error_response(&e),
        };
        let existing = match &state {
            ObjectState::Present(m) if !is_expired(m) => Some(m),
            _ => None,
        };
        if let Some(want) = h.get("x-if-delete-at") {
            let Ok(want) = want.trim().parse::<u64>() else {
                return text(400, "Bad X-If-Delete-At header value");
            };
            if existing.and_then(delete_at) != Some(want) {
                return text(412, "X-If-Delete-At and X-Delete-At do not match");
            }
        }
        let orig = state.timestamp();
        if orig.is_some_and(|o| o >= ts) {
            return with_backend_ts(text(409, "Conflict"), orig);
        }
        if let Err(e) = self.backend.delete(loc, ts).await {
            if matches!(e, Error::Conflict { .. }) {
                let cur = self
                    .backend
                    .open(loc)
                    .await
                    .ok()
                    .and_then(|s| s.timestamp());
                return with_backend_ts(text(409, "Conflict"), cur);
            }
            return error_response(&e);
        }
        let mut upd = Headers::new().with("x-timestamp", ts.internal());
        copy_passthrough(h, &mut upd);
        let pending = AsyncPending {
            op: "DELETE".into(),
            account,
            container,
            obj: object,
            headers: upd.into_iter().collect(),
            container_partition: None,
            successes: Vec::new(),
        };
        self.container_update(h, &loc.device, pending, ts).await;
        let status = if existing.is_some() { 204 } else { 404 };
        let mut r = with_backend_ts(NodeResponse::status(status), orig);
        r.headers.set("content-length", "0");
        r
    }
}

/// Request headers the container update carries along.
fn copy_passthrough(from: &Headers, to: &mut Headers) {
    for name in ["x-trans-id", "x-backend-storage-policy-index", "referer"] {
        if let Some(v) = from.get(name) {
            to.set(name, v);
        }
    }
}
