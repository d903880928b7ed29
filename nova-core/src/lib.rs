//! Compute core of ferrostack: Nova's instance model, message bus,
//! hypervisor drivers, schedulers, network managers and volumes, as a
//! library.
//!
//! ```
//! use nova_core::model::{default_flavors, Instance, ProjectId, ServerStatus, UserId};
//! use nova_core::model::{PowerState, VmState};
//!
//! let flavor = &default_flavors()[0]; // m1.tiny
//! let mut vm = Instance::new("vm1", ProjectId::new("demo")?, UserId::new("alice")?, flavor, None);
//! assert_eq!(vm.status(), ServerStatus::Build);
//! vm.settle(VmState::Active, PowerState::Running);
//! assert_eq!(vm.status(), ServerStatus::Active);
//! # Ok::<_, nova_core::Error>(())
//! ```
#![deny(missing_docs)]

pub mod bus;
pub mod error;
pub mod model;
pub mod network;
pub mod scheduler;
pub mod virt;
pub mod volume;

pub use error::{BoxError, Error, Result};
