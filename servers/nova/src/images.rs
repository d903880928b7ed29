//! [`GlanceImages`]: nova-core's [`ImageService`] over Glance's Images API
//! v2 by HTTP, acting with the caller's token from the request context.

use std::collections::BTreeMap;

use async_trait::async_trait;
use futures::StreamExt;
use nova_core::image::{ImageInfo, ImageService, ImageStream};
use nova_core::{Error, RequestContext, Result};
use serde_json::Value;

/// Glance v2 at `base` (e.g. `http://127.0.0.1:9292`).
#[derive(Debug, Clone)]
pub struct GlanceImages {
    client: reqwest::Client,
    base: String,
}

/// Keys of the image object that are not extra properties.
const CORE_KEYS: [&str; 22] = [
    "id",
    "name",
    "status",
    "visibility",
    "disk_format",
    "container_format",
    "size",
    "virtual_size",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "min_disk",
    "min_ram",
    "owner",
    "protected",
    "os_hidden",
    "tags",
    "created_at",
    "updated_at",
    "self",
    "file",
    "schema",
];

impl GlanceImages {
    /// A client of the Glance endpoint at `base`.
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: base.into().trim_end_matches('/').to_owned(),
        }
    }

    fn token(ctx: &RequestContext) -> Result<&str> {
        ctx.auth_token
            .as_deref()
            .ok_or_else(|| Error::forbidden("no token to reach the image service with"))
    }

    async fn get(&self, ctx: &RequestContext, url: &str, what: &str) -> Result<reqwest::Response> {
        let resp = self
            .client
            .get(url)
            .header("x-auth-token", Self::token(ctx)?)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| Error::unavailable(format!("image service: {e}")))?;
        match resp.status().as_u16() {
            200..=299 => Ok(resp),
            404 => Err(Error::not_found(what.to_owned())),
            401 | 403 => Err(Error::forbidden(format!(
                "image service refused access to {what}"
            ))),
            s => Err(Error::unavailable(format!(
                "image service answered {s} for {what}"
            ))),
        }
    }

    async fn json(&self, ctx: &RequestContext, url: &str, what: &str) -> Result<Value> {
        self.get(ctx, url, what)
            .await?
            .json()
            .await
            .map_err(|e| Error::unavailable(format!("image service sent bad JSON: {e}")))
    }
}

/// The [`ImageInfo`] of a Glance v2 image object.
pub fn image_info(v: &Value) -> Result<ImageInfo> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let n = |k: &str| v.get(k).and_then(Value::as_u64);
    let id =
        s("id").ok_or_else(|| Error::unavailable("image without id from the image service"))?;
    let properties: BTreeMap<String, String> = v
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| !CORE_KEYS.contains(&k.as_str()))
                .filter_map(|(k, val)| val.as_str().map(|x| (k.clone(), x.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Ok(ImageInfo {
        id,
        name: s("name"),
        status: s("status").unwrap_or_else(|| "queued".into()),
        disk_format: s("disk_format"),
        container_format: s("container_format"),
        size: n("size"),
        checksum: s("checksum"),
        min_disk: n("min_disk").unwrap_or(0),
        min_ram: n("min_ram").unwrap_or(0),
        owner: s("owner"),
        visibility: s("visibility").unwrap_or_else(|| "shared".into()),
        properties,
    })
}

fn valid_id(id: &str) -> Result<()> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(Error::not_found(format!("image {id}")));
    }
    Ok(())
}

#[async_trait]
impl ImageService for GlanceImages {
    async fn show(&self, ctx: &RequestContext, id: &str) -> Result<ImageInfo> {
        valid_id(id)?;
        let url = format!("{}/v2/images/{id}", self.base);
        image_info(&self.json(ctx, &url, &format!("image {id}")).await?)
    }

    async fn list(&self, ctx: &RequestContext) -> Result<Vec<ImageInfo>> {
        let mut out = Vec::new();
        let mut next = Some("/v2/images?limit=100".to_owned());
        while let Some(path) = next.take() {
            let url = format!("{}{path}", self.base);
            let page = self.json(ctx, &url, "images").await?;
            for img in page
                .get("images")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.push(image_info(img)?);
            }
            next = page.get("next").and_then(Value::as_str).map(str::to_owned);
        }
        Ok(out)
    }

    async fn download(&self, ctx: &RequestContext, id: &str) -> Result<ImageStream> {
        valid_id(id)?;
        let url = format!("{}/v2/images/{id}/file", self.base);
        let resp = self.get(ctx, &url, &format!("image {id}")).await?;
        Ok(resp
            .bytes_stream()
            .map(|c| c.map_err(|e| Error::unavailable(format!("image download: {e}"))))
            .boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glance_objects_map_to_image_info() {
        let v = serde_json::json!({"id": "abc", "name": "cirros", "status": "active",
            "disk_format": "qcow2", "container_format": "bare", "size": 12, "min_disk": 1,
            "min_ram": 0, "visibility": "public", "owner": "p1", "protected": false,
            "tags": [], "kernel_id": "k1", "self": "/v2/images/abc"});
        let i = image_info(&v).unwrap();
        assert_eq!(
            (i.id.as_str(), i.status.as_str(), i.size),
            ("abc", "active", Some(12))
        );
        assert_eq!(
            i.properties.get("kernel_id").map(String::as_str),
            Some("k1")
        );
        assert!(!i.properties.contains_key("self"));
        assert!(image_info(&serde_json::json!({"name": "x"})).is_err());
        assert!(valid_id("../x").is_err());
    }

    #[tokio::test]
    async fn without_a_token_nothing_is_fetched() {
        let g = GlanceImages::new("http://127.0.0.1:9");
        let ctx = RequestContext::new("u".parse().unwrap(), "p".parse().unwrap(), vec![]);
        assert!(matches!(
            g.show(&ctx, "abc").await,
            Err(Error::Forbidden { .. })
        ));
    }
}
