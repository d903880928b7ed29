//! Compute core of ferrostack: Nova's instance model, message bus,
//! hypervisor drivers, schedulers, network managers and volumes, as a
//! library.
//!
//! - [`model`]: ids, instance states and the API status Nova derives from
//!   them, the checks of each instance action, flavors, key pairs, hosts
//!   and availability zones, volumes, networks and IPs, quotas.
//! - [`bus`]: the [`MessageBus`] between services (cast, call, fanout on
//!   `scheduler`, `compute.<host>`, …) and the in-process bus.
//! - [`virt`]: the [`HypervisorDriver`] a compute host runs instances with,
//!   and the in-memory [`virt::FakeDriver`].
//! - [`scheduler`]: the [`Scheduler`] trait, the chance, simple, zone and
//!   filter schedulers, host filters and weighers.
//! - [`network`]: IPAM, the [`NetworkManager`]s (flat, flat DHCP, VLAN),
//!   floating IP pools, and the [`network::LinuxNet`] host effects.
//! - [`db`]: the [`NovaDb`] storage trait with its SQLite (embedded) and
//!   PostgreSQL backends, schema migrations and `db::open(location)`.
//! - [`volume`]: the [`VolumeDriver`] trait, qemu-img file volumes and an
//!   in-memory backend.
//! - [`api`]: the [`ComputeApi`] every front end calls (authorization,
//!   validation, atomic quotas, records, casts to the services).
//! - [`service`]: the scheduler, compute (one per host), network and volume
//!   services on the bus, and [`service::Embedded`], all of them in one
//!   process; [`bootstrap`]: default flavors, network and floating pool.
//! - [`image`]: the [`image::ImageService`] nova reaches Glance through.
//!
//! Each trait has a conformance suite (`conformance` modules, built for
//! tests or with the `testkit` feature) that every backend passes.
//!
//! ```
//! use nova_core::model::{default_flavors, Instance, InstanceAction, PowerState};
//! use nova_core::model::{ProjectId, ServerStatus, UserId, VmState};
//! use nova_core::scheduler::{FilterScheduler, HostState, RequestSpec, Scheduler};
//! use nova_core::virt::{FakeDriver, HypervisorDriver, SpawnRequest};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let flavor = &default_flavors()[0]; // m1.tiny
//! let mut vm = Instance::new("vm1", ProjectId::new("demo")?, UserId::new("alice")?, flavor, None);
//! assert_eq!(vm.status(), ServerStatus::Build);
//!
//! // Schedule it on the only host, then spawn it there.
//! let driver = FakeDriver::with_defaults("node1".parse()?);
//! let res = driver.host_resources().await?;
//! let host = HostState {
//!     host: "node1".parse()?,
//!     zone: "nova".parse()?,
//!     total: res.total,
//!     used: res.used,
//!     instances: Default::default(),
//!     enabled: true,
//!     up: true,
//! };
//! let spec = RequestSpec::new(vm.resources);
//! let chosen = FilterScheduler::default().select_host(&[host], &spec)?;
//! assert_eq!(chosen.as_str(), "node1");
//! driver.spawn(&SpawnRequest::new(vm.id, &vm.name, vm.resources)).await?;
//! vm.host = Some(chosen);
//! vm.settle(VmState::Active, driver.instance_info(&vm.id).await?.power_state);
//! assert_eq!(vm.status(), ServerStatus::Active);
//!
//! // Stopping is checked against Nova's state rules first.
//! vm.begin(InstanceAction::Stop)?;
//! driver.power_off(&vm.id).await?;
//! vm.settle(VmState::Stopped, PowerState::Shutdown);
//! assert_eq!(vm.status(), ServerStatus::Shutoff);
//! assert!(vm.check_action(InstanceAction::Stop).is_err()); // 409 in the API
//! assert_eq!(driver.host_resources().await?.used, vm.resources);
//! # Ok::<_, nova_core::Error>(())
//! # }).unwrap();
//! ```
#![deny(missing_docs)]

pub mod api;
pub mod bootstrap;
pub mod bus;
pub mod db;
pub mod error;
pub mod image;
pub mod model;
pub mod network;
pub mod scheduler;
pub mod service;
pub mod virt;
pub mod volume;

pub use api::{ComputeApi, RequestContext};
pub use bus::{InProcessBus, MessageBus};
pub use db::NovaDb;
pub use error::{BoxError, Error, Result};
pub use network::NetworkManager;
pub use scheduler::Scheduler;
pub use virt::HypervisorDriver;
pub use volume::VolumeDriver;
