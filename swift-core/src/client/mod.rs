//! Clients of storage nodes over HTTP.

mod http;

pub use self::http::HttpNodeClient;
