//! A stream adapter that checks a body's MD5 against the stored ETag.

use futures::stream::{self, StreamExt};
use md5::{Digest, Md5};

use crate::error::Error;
use crate::stream::ByteStream;

/// Passes `inner` through and, at its end, yields `Error::Corrupt` if the
/// MD5 of everything seen differs from `etag`.
pub(crate) fn verify_md5(inner: ByteStream, etag: String, what: String) -> ByteStream {
    struct State {
        inner: ByteStream,
        hasher: Md5,
        etag: String,
        what: String,
        done: bool,
    }
    let state = State {
        inner,
        hasher: Md5::new(),
        etag,
        what,
        done: false,
    };
    stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        match st.inner.next().await {
            Some(Ok(chunk)) => {
                st.hasher.update(&chunk);
                Some((Ok(chunk), st))
            }
            Some(Err(e)) => {
                st.done = true;
                Some((Err(e), st))
            }
            None => {
                st.done = true;
                let got = hex::encode(st.hasher.finalize_reset());
                if got.eq_ignore_ascii_case(&st.etag) {
                    None
                } else {
                    let what = format!("{} md5 {got} != etag {}", st.what, st.etag);
                    Some((Err(Error::Corrupt { what }), st))
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
}
