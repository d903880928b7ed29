//! A stream adapter that checks a body's MD5 against the stored ETag.

use futures::stream::{self, StreamExt};
use md5::{Digest, Md5};

use crate::error::Error;
use crate::stream::ByteStream;

/// Passes `inner` through and, at its end, yields `Error::Corrupt` if the
/// MD5 of everything seen differs from `etag`.
///
/// The last chunk is held back until the digest is checked, so a corrupt
/// body never delivers all its bytes: a reader that knows the length (an
/// HTTP client with `Content-Length`) sees a short body, never a clean end.
pub(crate) fn verify_md5(inner: ByteStream, etag: String, what: String) -> ByteStream {
    struct State {
        inner: ByteStream,
        hasher: Md5,
        held: Option<bytes::Bytes>,
        etag: String,
        what: String,
        done: bool,
    }
    let state = State {
        inner,
        hasher: Md5::new(),
        held: None,
        etag,
        what,
        done: false,
    };
    stream::unfold(state, |mut st| async move {
        loop {
            if st.done {
                return None;
            }
            match st.inner.next().await {
                Some(Ok(chunk)) => {
                    st.hasher.update(&chunk);
                    if let Some(prev) = st.held.replace(chunk) {
                        return Some((Ok(prev), st));
                    }
                }
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
                None => {
                    st.done = true;
                    let got = hex::encode(st.hasher.finalize_reset());
                    if !got.eq_ignore_ascii_case(&st.etag) {
                        let what = format!("{} md5 {got} != etag {}", st.what, st.etag);
                        return Some((Err(Error::Corrupt { what }), st));
                    }
                    return st.held.take().map(|last| (Ok(last), st));
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

    #[tokio::test]
    async fn passes_good_and_flags_bad() {
        let good = verify_md5(
            stream::once("hello"),
            "5d41402abc4b2a76b9719d911017c592".into(),
            "o".into(),
        );
        assert_eq!(&stream::collect(good, 100).await.unwrap()[..], b"hello");
        let bad = verify_md5(
            stream::once("hellO"),
            "5d41402abc4b2a76b9719d911017c592".into(),
            "o".into(),
        );
        assert!(matches!(
            stream::collect(bad, 100).await,
            Err(Error::Corrupt { .. })
        ));
    }

    #[tokio::test]
    async fn corrupt_body_never_delivers_its_last_chunk() {
        let chunks =
            || futures::stream::iter(["ab", "cd", "ef"].map(|c| Ok(bytes::Bytes::from(c)))).boxed();
        let good_etag = hex::encode(Md5::digest(b"abcdef"));
        let good = verify_md5(chunks(), good_etag, "o".into());
        assert_eq!(&stream::collect(good, 100).await.unwrap()[..], b"abcdef");
        let mut bad = verify_md5(chunks(), hex::encode(Md5::digest(b"abcdeX")), "o".into());
        let mut seen = Vec::new();
        let mut ended_with_error = false;
        while let Some(item) = bad.next().await {
            match item {
                Ok(c) => seen.extend_from_slice(&c),
                Err(e) => {
                    assert!(matches!(e, Error::Corrupt { .. }));
                    ended_with_error = true;
                }
            }
        }
        assert!(ended_with_error);
        assert_eq!(seen, b"abcd", "the last chunk is withheld");
    }
}
