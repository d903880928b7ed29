//! ferrostack's Swift servers: the proxy, the storage node and the ring CLI,
//! each a thin layer of HTTP and configuration over `swift-core`.
//!
//! - [`proxy_router`] serves a [`swift_core::proxy::Proxy`];
//! - [`storage_router`] serves a [`swift_core::node::StorageNode`];
//! - [`config`] holds the TOML configuration of both servers;
//! - [`runtime`] has logging, signals and graceful HTTP serving;
//! - [`services`] builds the servers and background loops from config.

pub mod body;
pub mod config;
pub mod daemons;
pub mod http;
pub mod keystone;
pub mod proxy;
pub mod ring_cli;
pub mod s3;
pub use server_runtime as runtime;
pub mod services;
pub mod storage;

pub use proxy::proxy_router;
pub use storage::{node_router, storage_router, storage_router_with_recon};
