//! Streaming bodies.

use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, StreamExt};

use crate::error::{Error, Result};

/// A stream of body chunks, as every backend and the proxy pass data along.
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

/// A stream with no chunks.
pub fn empty() -> ByteStream {
    stream::empty().boxed()
}

/// Reads a whole stream into memory, refusing more than `limit` bytes with
/// [`Error::InvalidInput`]. Only for bodies that are small by contract
/// (listings, manifests, JSON).
pub async fn collect(mut s: ByteStream, limit: usize) -> Result<Bytes> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = s.next().await {
        let chunk = chunk?;
        if buf.len() + chunk.len() > limit {
            return Err(Error::invalid(format!("body larger than {limit} bytes")));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The HTTP body type of the proxy pipeline: any boxed `http_body::Body`
/// of `Bytes`. Servers convert their framework's body to and from it.
pub type SwiftBody = http_body_util::combinators::UnsyncBoxBody<Bytes, crate::error::BoxError>;

/// Streams the data frames of an HTTP body; trailers are dropped.
pub fn body_to_stream(body: SwiftBody) -> ByteStream {
    http_body_util::BodyDataStream::new(body)
        .map(|r| {
            r.map_err(|e| Error::Unavailable {
                reason: format!("client body: {e}"),
            })
        })
        .boxed()
}

/// An HTTP body that streams `s`.
pub fn stream_to_body(s: ByteStream) -> SwiftBody {
    use http_body_util::BodyExt;
    let frames = s.map(|r| {
        r.map(http_body::Frame::data)
            .map_err(|e| -> crate::error::BoxError { Box::new(e) })
    });
    http_body_util::StreamBody::new(frames).boxed_unsync()
}

/// An HTTP body holding `data`.
pub fn full_body(data: impl Into<Bytes>) -> SwiftBody {
    use http_body_util::BodyExt;
    http_body_util::Full::new(data.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}
