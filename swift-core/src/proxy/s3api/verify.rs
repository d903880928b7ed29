//! Checking a signed payload while it streams: the body's SHA-256 must be
//! the `x-amz-content-sha256` the client signed. The last chunk is held
//! back until the hash is known, so a mismatching body never arrives
//! whole (the object is not stored) and the mismatch is flagged.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use sha2::{Digest, Sha256};

use super::sigv4::UNSIGNED_PAYLOAD;
use crate::error::Error;
use crate::stream::ByteStream;

/// Whether `s` is 64 lowercase or uppercase hex digits.
pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

struct State {
    inner: ByteStream,
    hasher: Sha256,
    held: Option<Bytes>,
    expected: String,
    mismatch: Arc<AtomicBool>,
    done: bool,
}

/// `body`, checked against `payload_hash` unless that is
/// `UNSIGNED-PAYLOAD`; a mismatch sets `mismatch` and ends the stream
/// with an error instead of its last chunk.
pub(crate) fn body(body: ByteStream, payload_hash: &str, mismatch: Arc<AtomicBool>) -> ByteStream {
    if payload_hash == UNSIGNED_PAYLOAD {
        return body;
    }
    let state = State {
        inner: body,
        hasher: Sha256::new(),
        held: None,
        expected: payload_hash.to_ascii_lowercase(),
        mismatch,
        done: false,
    };
    futures::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        loop {
            match s.inner.next().await {
                Some(Ok(chunk)) => {
                    s.hasher.update(&chunk);
                    if let Some(prev) = s.held.replace(chunk) {
                        return Some((Ok(prev), s));
                    }
                }
                Some(Err(e)) => {
                    s.done = true;
                    return Some((Err(e), s));
                }
                None => {
                    s.done = true;
                    let got = hex::encode(std::mem::take(&mut s.hasher).finalize());
                    if got != s.expected {
                        s.mismatch.store(true, Ordering::Release);
                        return Some((Err(Error::invalid("payload hash mismatch")), s));
                    }
                    return s.held.take().map(|b| (Ok(b), s));
                }
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream;

    fn chunks(parts: &[&'static [u8]]) -> ByteStream {
        let v: Vec<_> = parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        futures::stream::iter(v).boxed()
    }

    #[tokio::test]
    async fn passes_matching_and_flags_other_bodies() {
        let hash = super::super::sigv4::sha256_hex(b"hello world");
        let flag = Arc::new(AtomicBool::new(false));
        let ok = body(chunks(&[b"hello", b" ", b"world"]), &hash, flag.clone());
        assert_eq!(&stream::collect(ok, 100).await.unwrap()[..], b"hello world");
        assert!(!flag.load(Ordering::Acquire));

        let bad = body(chunks(&[b"hello", b" ", b"there"]), &hash, flag.clone());
        let got: Vec<_> = bad.collect().await;
        assert_eq!(
            got.len(),
            3,
            "two chunks, then the error instead of the last"
        );
        assert!(got[2].is_err());
        assert!(flag.load(Ordering::Acquire));

        let empty = body(
            chunks(&[]),
            &super::super::sigv4::sha256_hex(b""),
            flag.clone(),
        );
        assert!(stream::collect(empty, 10).await.unwrap().is_empty());
        assert!(is_sha256_hex(&hash) && !is_sha256_hex("UNSIGNED-PAYLOAD"));
    }
}
