//! Streaming image data.

use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, StreamExt};

use crate::error::{Error, Result};

/// A stream of data chunks, as stores and services pass image data along.
pub type ByteStream = BoxStream<'static, Result<Bytes>>;

/// A stream of exactly one chunk (nothing if it is empty).
pub fn once(data: impl Into<Bytes>) -> ByteStream {
    let data = data.into();
    if data.is_empty() {
        empty()
    } else {
        stream::once(async move { Ok(data) }).boxed()
    }
}

/// A stream of the given chunks, in order.
pub fn chunks(chunks: Vec<Bytes>) -> ByteStream {
    stream::iter(chunks.into_iter().map(Ok)).boxed()
}

/// A stream with no chunks.
pub fn empty() -> ByteStream {
    stream::empty().boxed()
}

/// Reads a whole stream into memory, refusing more than `limit` bytes with
/// [`Error::InvalidInput`]. For tests and small images only.
pub async fn collect(mut s: ByteStream, limit: usize) -> Result<Bytes> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = s.next().await {
        let chunk = chunk?;
        if buf.len() + chunk.len() > limit {
            return Err(Error::invalid(format!("data larger than {limit} bytes")));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}
