//! Large objects: segmented puts, the three manifest kinds (SLO, DLO and
//! our own JSON manifest for proxies with neither), reading segments back
//! and deleting them.

use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};
use md5::{Digest, Md5};
use reqwest::{header, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{what, Session, SwiftImageStore, BACKEND};
use crate::error::{Error, Result};
use crate::image::ImageId;
use crate::store::remote;
use crate::store::{ImageHasher, ImageHashes};
use crate::stream::ByteStream;

/// How a segmented image is tied together at its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ManifestKind {
    /// Static large object (`?multipart-manifest=put`).
    Slo,
    /// Dynamic large object (`X-Object-Manifest`).
    Dlo,
    /// Our JSON manifest; `get` concatenates the segments itself.
    Store,
}

/// The largest manifest we read back.
const MANIFEST_LIMIT: usize = 16 << 20;

/// Our own manifest, stored at the image's id.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoreManifest {
    pub(crate) ferrostack_manifest: u32,
    pub(crate) size: u64,
    pub(crate) container: String,
    pub(crate) segments: Vec<SegmentEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SegmentEntry {
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) etag: String,
}

impl StoreManifest {
    pub(crate) async fn parse(resp: reqwest::Response) -> Result<Self> {
        let body = remote::small_body(BACKEND, resp, MANIFEST_LIMIT).await?;
        let m: Self = serde_json::from_slice(&body).map_err(|e| Error::backend(BACKEND, e))?;
        if m.segments.iter().map(|s| s.size).sum::<u64>() != m.size {
            return Err(Error::backend(BACKEND, "manifest sizes do not add up"));
        }
        Ok(m)
    }
}

/// Checks a ranged GET's answer and streams its body.
pub(crate) fn ranged_body(
    resp: reqwest::Response,
    what: &str,
    offset: u64,
    len: u64,
) -> Result<ByteStream> {
    match resp.status() {
        StatusCode::PARTIAL_CONTENT => {}
        // A server may ignore a range covering everything.
        StatusCode::OK if offset == 0 && resp.content_length() == Some(len) => {}
        StatusCode::RANGE_NOT_SATISFIABLE => {
            return Err(Error::RangeNotSatisfiable {
                size: remote::content_range_size(&resp).unwrap_or(0),
            })
        }
        s if s.is_success() => {
            return Err(Error::backend(BACKEND, format!("range ignored for {what}")))
        }
        s => return Err(remote::status_error(BACKEND, what, s)),
    }
    Ok(remote::response_stream(BACKEND, resp))
}

impl SwiftImageStore {
    async fn manifest_kind(&self) -> ManifestKind {
        *self
            .manifest_kind
            .get_or_init(|| async {
                let Ok(session) = self.auth.session().await else {
                    return ManifestKind::Store;
                };
                let base = match session.storage_url.find("/v1/") {
                    Some(i) => &session.storage_url[..i],
                    None => session.storage_url.as_str(),
                };
                let info = async {
                    let resp = self.client.get(format!("{base}/info")).send().await.ok()?;
                    if !resp.status().is_success() {
                        return None;
                    }
                    let body = remote::small_body(BACKEND, resp, 1 << 20).await.ok()?;
                    serde_json::from_slice::<serde_json::Value>(&body).ok()
                };
                match info.await {
                    Some(doc) if doc.get("slo").is_some() => ManifestKind::Slo,
                    Some(doc) if doc.get("dlo").is_some() => ManifestKind::Dlo,
                    _ => ManifestKind::Store,
                }
            })
            .await
    }

    /// Writes `first` and the rest of `data` as segments, then the
    /// manifest; on any error deletes the segments written.
    pub(super) async fn put_segmented(
        &self,
        id: &ImageId,
        first: BytesMut,
        data: ByteStream,
        hasher: ImageHasher,
    ) -> Result<ImageHashes> {
        let prefix = format!("{id}-{}-", uuid::Uuid::new_v4().simple());
        let mut written = Vec::new();
        let mut entries = Vec::new();
        let res = self
            .write_segments(&prefix, first, data, hasher, &mut written, &mut entries)
            .await;
        let res = match res {
            Ok(hashes) => self
                .write_manifest(id, &prefix, &entries, hashes.size)
                .await
                .map(|()| hashes),
            Err(e) => Err(e),
        };
        if res.is_err() {
            let container = self.config.segment_container();
            self.delete_segments(&container, &written).await;
        }
        res
    }

    async fn write_segments(
        &self,
        prefix: &str,
        mut buf: BytesMut,
        mut data: ByteStream,
        mut hasher: ImageHasher,
        written: &mut Vec<String>,
        entries: &mut Vec<SegmentEntry>,
    ) -> Result<ImageHashes> {
        let segment = usize::try_from(self.config.segment_size).unwrap_or(usize::MAX);
        let container = self.config.segment_container();
        loop {
            let ended = loop {
                if buf.len() >= segment {
                    break false;
                }
                match data.next().await {
                    Some(chunk) => {
                        let chunk = chunk?;
                        hasher.update(&chunk)?;
                        buf.extend_from_slice(&chunk);
                    }
                    None => break true,
                }
            };
            while buf.len() >= segment || (ended && !buf.is_empty()) {
                let take = buf.len().min(segment);
                let body = buf.split_to(take).freeze();
                let name = format!("{prefix}{:05}", entries.len() + 1);
                let md5 = hex::encode(Md5::digest(&body));
                written.push(name.clone());
                self.put_bytes(&container, &name, body, &md5, &[]).await?;
                entries.push(SegmentEntry {
                    name,
                    size: take as u64,
                    etag: md5,
                });
            }
            if ended {
                return hasher.finish();
            }
        }
    }

    async fn write_manifest(
        &self,
        id: &ImageId,
        prefix: &str,
        entries: &[SegmentEntry],
        size: u64,
    ) -> Result<()> {
        let container = self.config.segment_container();
        let name = id.to_string();
        let (body, extra, query) = match self.manifest_kind().await {
            ManifestKind::Slo => {
                let list: Vec<_> = entries
                    .iter()
                    .map(|e| {
                        json!({"path": format!("/{container}/{}", e.name),
                               "etag": e.etag, "size_bytes": e.size})
                    })
                    .collect();
                let body = serde_json::to_vec(&list).map_err(|e| Error::backend(BACKEND, e))?;
                (body, vec![], "?multipart-manifest=put")
            }
            ManifestKind::Dlo => (
                Vec::new(),
                vec![("x-object-manifest", format!("{container}/{prefix}"))],
                "",
            ),
            ManifestKind::Store => {
                let m = StoreManifest {
                    ferrostack_manifest: 1,
                    size,
                    container: container.clone(),
                    segments: entries.to_vec(),
                };
                let body = serde_json::to_vec(&m).map_err(|e| Error::backend(BACKEND, e))?;
                let extra = vec![
                    ("x-object-meta-ferrostack-manifest", "1".to_string()),
                    ("x-object-meta-image-size", size.to_string()),
                ];
                (body, extra, "")
            }
        };
        let body = Bytes::from(body);
        let resp = self
            .send(|s| {
                let mut req = self
                    .client
                    .put(format!("{}{query}", self.object_url(s, id)))
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::IF_NONE_MATCH, "*")
                    .body(body.clone());
                for (k, v) in &extra {
                    req = req.header(*k, v.as_str());
                }
                req
            })
            .await?;
        let status = resp.status();
        if status == StatusCode::PRECONDITION_FAILED {
            return Err(Error::already_exists(what(id)));
        }
        if !status.is_success() {
            return Err(remote::status_error(BACKEND, &name, status));
        }
        Ok(())
    }

    pub(super) async fn read_manifest(&self, id: &ImageId) -> Result<StoreManifest> {
        let resp = self
            .send(|s| self.client.get(self.object_url(s, id)))
            .await?;
        if !resp.status().is_success() {
            return Err(remote::status_error(BACKEND, &what(id), resp.status()));
        }
        StoreManifest::parse(resp).await
    }

    /// Streams `len` bytes from `offset` of the concatenated segments.
    pub(super) async fn segments_stream(
        &self,
        manifest: StoreManifest,
        offset: u64,
        len: u64,
    ) -> Result<ByteStream> {
        let session = self.auth.session().await?;
        let (end, mut at) = (offset + len, 0u64);
        let mut plan = Vec::new();
        for seg in manifest.segments {
            let (start, stop) = (at, at + seg.size);
            at = stop;
            if stop <= offset || start >= end || seg.size == 0 {
                continue;
            }
            let from = offset.saturating_sub(start);
            let to = end.min(stop) - start;
            plan.push((seg.name, from, to - from));
        }
        let client = self.client.clone();
        let container = manifest.container;
        let stream = futures::stream::iter(plan)
            .then(move |(name, from, n)| {
                fetch_segment(
                    client.clone(),
                    session.clone(),
                    container.clone(),
                    name,
                    from,
                    n,
                )
            })
            .try_flatten();
        Ok(stream.boxed())
    }

    /// Deletes the segments of a DLO manifest `<container>/<prefix>`.
    pub(super) async fn delete_dlo_segments(&self, manifest: &str) -> Result<()> {
        let Some((container, prefix)) = manifest.split_once('/') else {
            return Ok(());
        };
        let resp = self
            .send(|s| {
                self.client
                    .get(format!("{}/{container}", s.storage_url))
                    .query(&[("prefix", prefix), ("format", "json")])
            })
            .await?;
        if !resp.status().is_success() {
            return Err(remote::status_error(BACKEND, container, resp.status()));
        }
        #[derive(Deserialize)]
        struct Entry {
            name: String,
        }
        let body = remote::small_body(BACKEND, resp, MANIFEST_LIMIT).await?;
        let list: Vec<Entry> =
            serde_json::from_slice(&body).map_err(|e| Error::backend(BACKEND, e))?;
        let names: Vec<String> = list.into_iter().map(|e| e.name).collect();
        self.delete_segments(container, &names).await;
        Ok(())
    }

    /// Best-effort removal of segments: a leftover is only wasted space.
    pub(super) async fn delete_segments(&self, container: &str, names: &[String]) {
        for name in names {
            let _ = self.delete_object(container, name).await;
        }
    }
}

async fn fetch_segment(
    client: reqwest::Client,
    session: Session,
    container: String,
    name: String,
    from: u64,
    len: u64,
) -> Result<ByteStream> {
    let resp = client
        .get(SwiftImageStore::url(&session, &container, &name))
        .header("x-auth-token", session.token.expose())
        .header(header::RANGE, remote::range_header(from, len))
        .send()
        .await
        .map_err(|e| remote::transport(BACKEND, e))?;
    ranged_body(resp, &format!("segment {name}"), from, len)
}
