//! Ranges and conditional requests of the object server.

use super::*;

const DATA: &str = "0123456789";

async fn ranged(e: &Env, range: &str) -> NodeResponse {
    e.server
        .handle(req(NodeMethod::Get, &[("range", range)]))
        .await
}

#[tokio::test]
async fn single_ranges() {
    let e = env();
    assert_eq!(put(&e, ts(1), DATA, &[]).await.status, 201);
    for (range, want, content_range) in [
        ("bytes=2-4", "234", "bytes 2-4/10"),
        ("bytes=-3", "789", "bytes 7-9/10"),
        ("bytes=8-", "89", "bytes 8-9/10"),
        ("bytes=5-100", "56789", "bytes 5-9/10"),
    ] {
        let r = ranged(&e, range).await;
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(r.headers.get("content-range"), Some(content_range));
        assert_eq!(
            r.headers.get("content-length"),
            Some(want.len().to_string().as_str())
        );
        assert_eq!(&body(r).await[..], want.as_bytes());
    }
}

#[tokio::test]
async fn unsatisfiable_and_invalid_ranges() {
    let e = env();
    assert_eq!(put(&e, ts(1), DATA, &[]).await.status, 201);
    let r = ranged(&e, "bytes=10-20").await;
    assert_eq!(r.status, 416);
    assert_eq!(r.headers.get("content-range"), Some("bytes */10"));
    for bad in ["bytes=5-2", "bytes=x-1", "pages=1-2"] {
        let r = ranged(&e, bad).await;
        assert_eq!(r.status, 200, "{bad}");
        assert_eq!(&body(r).await[..], DATA.as_bytes());
    }
}

#[tokio::test]
async fn multiple_ranges_are_multipart() {
    let e = env();
    assert_eq!(put(&e, ts(1), DATA, &[]).await.status, 201);
    let r = ranged(&e, "bytes=0-1,-2").await;
    assert_eq!(r.status, 206);
    let ct = r.headers.get("content-type").unwrap().to_string();
    let boundary = ct
        .strip_prefix("multipart/byteranges;boundary=")
        .unwrap()
        .to_string();
    let len: usize = r.headers.get("content-length").unwrap().parse().unwrap();
    let got = body(r).await;
    let want = format!(
        "--{b}\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n01\r\n\
         --{b}\r\nContent-Type: text/plain\r\nContent-Range: bytes 8-9/10\r\n\r\n89\r\n--{b}--",
        b = boundary
    );
    assert_eq!(String::from_utf8(got.to_vec()).unwrap(), want);
    assert_eq!(len, want.len());
}

#[tokio::test]
async fn conditional_requests() {
    let e = env();
    let t = ts(1);
    assert_eq!(put(&e, t, "hello", &[]).await.status, 201);
    let quoted = format!("\"{HELLO_MD5}\"");
    let lm = t.http_date();
    let before = httpdate::fmt_http_date(t.to_system_time() - std::time::Duration::from_secs(5));
    let cases: Vec<(&str, &str, u16)> = vec![
        ("if-match", HELLO_MD5, 200),
        ("if-match", &quoted, 200),
        ("if-match", "*", 200),
        ("if-match", "\"nope\"", 412),
        ("if-none-match", &quoted, 304),
        ("if-none-match", "*", 304),
        ("if-none-match", "nope", 200),
        ("if-modified-since", &lm, 304),
        ("if-modified-since", &before, 200),
        ("if-unmodified-since", &lm, 200),
        ("if-unmodified-since", &before, 412),
        ("if-modified-since", "not a date", 200),
    ];
    for (name, value, status) in cases {
        for m in [NodeMethod::Get, NodeMethod::Head] {
            let r = e.server.handle(req(m.clone(), &[(name, value)])).await;
            assert_eq!(r.status, status, "{m:?} {name}: {value}");
            if status == 304 {
                assert_eq!(r.headers.get("etag"), Some(HELLO_MD5));
                assert!(body(r).await.is_empty());
            }
        }
    }
    let mut missing = req(NodeMethod::Get, &[("if-match", "*")]);
    missing.path = "AUTH_a/c/missing".into();
    assert_eq!(e.server.handle(missing).await.status, 412);
}

#[tokio::test]
async fn bit_rot_cuts_the_response() {
    let e = env();
    assert_eq!(put(&e, ts(1), "hello", &[]).await.status, 201);
    let data = files_under(&e.root.join("sda/objects"));
    let mut raw = std::fs::read(&data[0]).unwrap();
    raw[0] ^= 0xff;
    std::fs::write(&data[0], raw).unwrap();
    let r = e.server.handle(req(NodeMethod::Get, &[])).await;
    assert_eq!(r.status, 200);
    let got = stream::collect(r.body, 1024).await;
    assert!(matches!(got, Err(Error::Corrupt { .. })), "{got:?}");
}
