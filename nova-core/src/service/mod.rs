//! The services behind the [`crate::ComputeApi`]: [`SchedulerService`],
//! [`ComputeService`] (one per host), [`NetworkService`] and
//! [`VolumeService`], each consuming its bus topic with one task per
//! message (no service blocks its topic waiting on another), the message
//! types they exchange ([`rpc`]), and [`Embedded`], all of them in one
//! process.
//!
//! Run separately (several processes sharing the database and the bus),
//! each is built with its `new` and started with `start()`, which returns
//! a [`ServiceHandle`] to stop it.

mod compute;
mod embedded;
mod network;
pub mod rpc;
mod runner;
mod scheduler;
mod volume;

pub use compute::{ComputeConfig, ComputeService};
pub use embedded::{Embedded, EmbeddedConfig, ServiceTiming};
pub use network::NetworkService;
pub use runner::ServiceHandle;
pub use scheduler::SchedulerService;
pub use volume::VolumeService;

#[cfg(test)]
mod tests;
