//! [`MemcachedCache`]: a [`Cache`] in memcached, shared by several proxies.
//!
//! A small client for memcached's text protocol (`get`, `set` with an
//! expiry, `delete`) over pooled TCP connections. Keys map to servers on a
//! consistent-hash ring, so adding a server moves few keys. Like Swift's
//! memcache ring, an unreachable server is not an error for the proxy: a
//! get misses and a set or delete is dropped with a warning.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use md5::{Digest, Md5};
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufStream};
use tokio::net::TcpStream;

use super::Cache;

/// Where the memcached servers are and how long to wait for them.
#[derive(Debug, Clone)]
pub struct MemcachedConfig {
    /// `host:port` of each server.
    pub servers: Vec<String>,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one request and its reply.
    pub io_timeout: Duration,
    /// Idle connections kept per server.
    pub max_idle: usize,
}

impl MemcachedConfig {
    /// Defaults for `servers`: 0.3 s to connect, 1 s per request, 4 idle
    /// connections per server.
    pub fn new(servers: Vec<String>) -> Self {
        Self {
            servers,
            connect_timeout: Duration::from_millis(300),
            io_timeout: Duration::from_secs(1),
            max_idle: 4,
        }
    }
}

/// A [`Cache`] on one or more memcached servers.
#[derive(Debug)]
pub struct MemcachedCache {
    config: MemcachedConfig,
    servers: Vec<Server>,
    /// Points of the consistent-hash ring, sorted: (hash, server index).
    ring: Vec<(u64, usize)>,
}

struct Server {
    addr: String,
    idle: Mutex<Vec<BufStream<TcpStream>>>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

/// Ring points per server.
const POINTS: usize = 100;
/// memcached reads an exptime past 30 days as a Unix time.
const MAX_TTL_SECS: u64 = 30 * 24 * 3600;
/// memcached's longest key.
const MAX_KEY: usize = 250;

/// Why one request failed (logged, never returned).
type IoResult<T> = std::result::Result<T, String>;

impl MemcachedCache {
    /// A cache over `config.servers`; connects lazily. With no servers
    /// every get misses.
    pub fn new(config: MemcachedConfig) -> Self {
        let servers: Vec<Server> = config
            .servers
            .iter()
            .map(|a| Server {
                addr: a.clone(),
                idle: Mutex::new(Vec::new()),
            })
            .collect();
        let mut ring = Vec::with_capacity(servers.len() * POINTS);
        for (i, s) in servers.iter().enumerate() {
            for p in 0..POINTS {
                ring.push((hash64(format!("{}-{p}", s.addr).as_bytes()), i));
            }
        }
        ring.sort_unstable();
        Self {
            config,
            servers,
            ring,
        }
    }

    /// The server of `key` (already a wire key).
    fn server(&self, key: &str) -> Option<&Server> {
        let h = hash64(key.as_bytes());
        let at = self.ring.partition_point(|(p, _)| *p < h);
        let (_, i) = self.ring.get(at).or_else(|| self.ring.first())?;
        self.servers.get(*i)
    }

    /// Runs `op` on a pooled or new connection to the key's server, within
    /// the timeouts; the connection goes back to the pool on success.
    async fn call<T>(&self, key: &str, req: Vec<u8>, op: &'static str) -> Option<T>
    where
        T: Reply,
    {
        let server = self.server(key)?;
        let pooled = server.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => {
                let connect = TcpStream::connect(server.addr.as_str());
                match tokio::time::timeout(self.config.connect_timeout, connect).await {
                    Ok(Ok(s)) => {
                        let _ = s.set_nodelay(true);
                        BufStream::new(s)
                    }
                    Ok(Err(e)) => return warn(server, op, e.to_string()),
                    Err(_) => return warn(server, op, "connect timed out".into()),
                }
            }
        };
        let exchange = async {
            conn.write_all(&req).await.map_err(|e| e.to_string())?;
            conn.flush().await.map_err(|e| e.to_string())?;
            T::read(&mut conn).await
        };
        match tokio::time::timeout(self.config.io_timeout, exchange).await {
            Ok(Ok(v)) => {
                let mut idle = server.idle.lock().unwrap_or_else(|p| p.into_inner());
                if idle.len() < self.config.max_idle {
                    idle.push(conn);
                }
                Some(v)
            }
            Ok(Err(e)) => warn(server, op, e),
            Err(_) => warn(server, op, "timed out".into()),
        }
    }
}

fn warn<T>(server: &Server, op: &str, error: String) -> Option<T> {
    tracing::warn!(server = %server.addr, op, error = %error, "memcached request failed");
    None
}

fn hash64(data: &[u8]) -> u64 {
    let d = Md5::digest(data);
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b)
}

/// The key as memcached accepts it: unchanged when it is 1–250 printable
/// ASCII bytes not starting with `#`, else `#` and its SHA-256 in hex.
pub(crate) fn wire_key(key: &str) -> String {
    let plain = !key.is_empty()
        && key.len() <= MAX_KEY
        && !key.starts_with('#')
        && key.bytes().all(|b| b > b' ' && b < 0x7f);
    if plain {
        key.to_string()
    } else {
        format!("#{}", hex::encode(Sha256::digest(key.as_bytes())))
    }
}

/// memcached's exptime for `ttl`: whole seconds rounded up, capped at 30
/// days; -1 (already expired) for zero.
fn exptime(ttl: Duration) -> i64 {
    if ttl.is_zero() {
        return -1;
    }
    let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    i64::try_from(secs.min(MAX_TTL_SECS)).unwrap_or(1)
}

/// A reply read off a connection.
#[async_trait]
trait Reply: Sized + Send {
    async fn read(conn: &mut BufStream<TcpStream>) -> IoResult<Self>;
}

async fn read_line(conn: &mut BufStream<TcpStream>) -> IoResult<String> {
    let mut line = String::new();
    let n = conn.read_line(&mut line).await.map_err(|e| e.to_string())?;
    if n == 0 || !line.ends_with("\r\n") {
        return Err("connection closed".into());
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

/// The reply to `get`: the value, if any.
struct GetReply(Option<String>);

#[async_trait]
impl Reply for GetReply {
    async fn read(conn: &mut BufStream<TcpStream>) -> IoResult<Self> {
        let line = read_line(conn).await?;
        if line == "END" {
            return Ok(GetReply(None));
        }
        // VALUE <key> <flags> <bytes>
        let len: usize = match line.split(' ').collect::<Vec<_>>().as_slice() {
            ["VALUE", _, _, len] => len.parse().map_err(|_| format!("bad reply {line:?}"))?,
            _ => return Err(format!("unexpected reply {line:?}")),
        };
        let mut data = vec![0u8; len + 2];
        conn.read_exact(&mut data)
            .await
            .map_err(|e| e.to_string())?;
        if !data.ends_with(b"\r\n") {
            return Err("value not followed by CRLF".into());
        }
        data.truncate(len);
        let end = read_line(conn).await?;
        if end != "END" {
            return Err(format!("unexpected reply {end:?}"));
        }
        // Not ours if not UTF-8: a miss.
        Ok(GetReply(String::from_utf8(data).ok()))
    }
}

/// The one-line reply to `set` or `delete`.
struct LineReply;

#[async_trait]
impl Reply for LineReply {
    async fn read(conn: &mut BufStream<TcpStream>) -> IoResult<Self> {
        let line = read_line(conn).await?;
        match line.as_str() {
            "STORED" | "DELETED" | "NOT_FOUND" => Ok(LineReply),
            // The server keeps the connection usable after these.
            _ => Err(format!("server said {line:?}")),
        }
    }
}

#[async_trait]
impl Cache for MemcachedCache {
    async fn get(&self, key: &str) -> Option<String> {
        let k = wire_key(key);
        let req = format!("get {k}\r\n").into_bytes();
        self.call::<GetReply>(&k, req, "get").await?.0
    }

    async fn set(&self, key: &str, value: String, ttl: Duration) {
        let k = wire_key(key);
        let mut req = format!("set {k} 0 {} {}\r\n", exptime(ttl), value.len()).into_bytes();
        req.extend_from_slice(value.as_bytes());
        req.extend_from_slice(b"\r\n");
        self.call::<LineReply>(&k, req, "set").await;
    }

    async fn delete(&self, key: &str) {
        let k = wire_key(key);
        let req = format!("delete {k}\r\n").into_bytes();
        self.call::<LineReply>(&k, req, "delete").await;
    }
}
