//! Integration tests of the swift servers (one test binary).
#![allow(clippy::unwrap_used)]

mod daemons;
mod db_replication_http;
mod deploy_configs;
mod memcache;
mod storage_node;
