//! The Nova front ends as thin axum layers over [`nova_core::ComputeApi`]:
//! OpenStack Compute v2.1 (port 8774) with the Cinder v3 and Neutron v2.0
//! subsets the `openstack` CLI needs, and the Amazon EC2 query API (port
//! 8773). [`images::GlanceImages`] gives nova-core images over Glance's
//! HTTP API.

mod auth;
pub mod compute;
pub mod ec2;
mod fault;
pub mod images;
pub mod network;
mod state;
mod util;
pub mod volume;

#[cfg(test)]
mod testkit;

pub use auth::{context_of, Authenticator, KeystoneAuthenticator, StaticAuthenticator};
pub use fault::Fault;
pub use state::ApiState;
