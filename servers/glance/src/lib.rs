//! The Glance Images API v2 as a thin axum layer over [`glance_core`]:
//! routes, wire format, the token layer, config and process plumbing.

mod auth;
pub mod config;
mod data;
mod discovery;
mod error;
mod images;
mod import;
mod keystone;
mod list;
mod members;
mod router;
pub use server_runtime as runtime;
mod wire;

pub use auth::{Authenticator, StaticAuthenticator};
pub use error::ApiError;
pub use keystone::{caller_of, KeystoneAuthenticator};
pub use router::{router, AppState};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_api;
