//! Object storage core of ferrostack: an OpenStack Swift–compatible object
//! store as a library.
//!
//! The crate holds everything with behaviour: consistent-hashing rings
//! ([`ring`]), the storage-node services for objects, containers and
//! accounts ([`node`], [`object`], [`db`]), and the proxy with its
//! authentication and controllers ([`proxy`]). Servers only bind sockets and
//! translate HTTP to and from these types.
//!
//! ```
//! use swift_core::hash::HashConfig;
//!
//! let hash = HashConfig::new("prefix", "suffix");
//! let path_hash = hash.hash_path("AUTH_test", Some("photos"), Some("cat.jpg"));
//! assert_eq!(path_hash.to_hex().len(), 32);
//! ```
#![deny(missing_docs)]

#[cfg(feature = "http-client")]
pub mod client;
pub mod daemon;
pub mod db;
pub mod error;
pub mod hash;
pub mod headers;
pub mod names;
pub mod node;
pub mod object;
pub mod proxy;
pub mod ring;
pub mod stream;
pub mod timestamp;

pub use error::{BoxError, Error, Result};
pub use stream::{ByteStream, SwiftBody};
