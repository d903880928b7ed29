//! [`Embedded`]: the api and every service in one process, for tests,
//! examples and `ferrostack up`.

use std::sync::Arc;
use std::time::Duration;

use super::compute::{ComputeConfig, ComputeService};
use super::network::NetworkService;
use super::runner::ServiceHandle;
use super::scheduler::SchedulerService;
use super::volume::VolumeService;
use crate::api::{ApiConfig, ComputeApi};
use crate::bus::MessageBus;
use crate::db::NovaDb;
use crate::error::Result;
use crate::image::ImageService;
use crate::model::{HostName, ZoneName, DEFAULT_SERVICE_DOWN_TIME};
use crate::network::{LinuxNet, RecordingLinuxNet};
use crate::scheduler::{FilterScheduler, Scheduler};
use crate::virt::HypervisorDriver;
use crate::volume::{MemoryVolumes, VolumeDriver};

/// Heartbeat and timeout settings shared by the embedded services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceTiming {
    /// How often compute hosts heartbeat.
    pub heartbeat_interval: Duration,
    /// Hosts silent for longer are down.
    pub service_down_time: Duration,
    /// How long calls between services may take.
    pub call_timeout: Duration,
}

impl Default for ServiceTiming {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(10),
            service_down_time: DEFAULT_SERVICE_DOWN_TIME,
            call_timeout: Duration::from_secs(60),
        }
    }
}

impl ServiceTiming {
    /// Fast beats for tests: 200 ms heartbeats, down after 1 s, 10 s calls.
    pub fn fast() -> Self {
        Self {
            heartbeat_interval: Duration::from_millis(200),
            service_down_time: Duration::from_secs(1),
            call_timeout: Duration::from_secs(10),
        }
    }
}

/// What [`Embedded::start`] runs.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// The database.
    pub db: Arc<dyn NovaDb>,
    /// The bus.
    pub bus: Arc<dyn MessageBus>,
    /// Images.
    pub images: Arc<dyn ImageService>,
    /// One compute service per host, with its driver.
    pub hosts: Vec<(HostName, Arc<dyn HypervisorDriver>)>,
    /// Zone of the compute hosts.
    pub zone: ZoneName,
    /// Host effects of networking (default: recording only).
    pub linux_net: Arc<dyn LinuxNet>,
    /// Volume storage (default: in memory).
    pub volumes: Arc<dyn VolumeDriver>,
    /// Placement (default: the filter scheduler).
    pub scheduler: Arc<dyn Scheduler>,
    /// The api's settings.
    pub api: ApiConfig,
    /// Heartbeats and timeouts.
    pub timing: ServiceTiming,
}

impl EmbeddedConfig {
    /// No compute hosts yet, recording network effects, in-memory
    /// volumes, the filter scheduler, default timing.
    pub fn new(
        db: Arc<dyn NovaDb>,
        bus: Arc<dyn MessageBus>,
        images: Arc<dyn ImageService>,
    ) -> Self {
        Self {
            db,
            bus,
            images,
            hosts: Vec::new(),
            zone: ZoneName::default_zone(),
            linux_net: Arc::new(RecordingLinuxNet::new()),
            volumes: Arc::new(MemoryVolumes::new()),
            scheduler: Arc::new(FilterScheduler::default()),
            api: ApiConfig::default(),
            timing: ServiceTiming::default(),
        }
    }

    /// Adds a compute host.
    pub fn with_host(mut self, host: HostName, driver: Arc<dyn HypervisorDriver>) -> Self {
        self.hosts.push((host, driver));
        self
    }
}

/// The api plus the scheduler, network, volume and compute services.
#[derive(Debug)]
pub struct Embedded {
    /// The compute api over the same database and bus.
    pub api: ComputeApi,
    services: Vec<ServiceHandle>,
}

impl Embedded {
    /// Starts every service (compute hosts register before this returns).
    pub async fn start(cfg: EmbeddedConfig) -> Result<Self> {
        let t = cfg.timing;
        let mut services = Vec::new();
        services.push(
            SchedulerService::new(
                Arc::clone(&cfg.db),
                Arc::clone(&cfg.bus),
                Arc::clone(&cfg.scheduler),
                t.service_down_time,
            )
            .start()
            .await?,
        );
        services.push(
            NetworkService::new(
                Arc::clone(&cfg.db),
                Arc::clone(&cfg.bus),
                Arc::clone(&cfg.linux_net),
            )
            .start()
            .await?,
        );
        services.push(
            VolumeService::new(
                Arc::clone(&cfg.db),
                Arc::clone(&cfg.bus),
                Arc::clone(&cfg.volumes),
            )
            .start()
            .await?,
        );
        for (host, driver) in &cfg.hosts {
            let config = ComputeConfig {
                zone: cfg.zone.clone(),
                heartbeat_interval: t.heartbeat_interval,
                call_timeout: t.call_timeout,
            };
            let svc = ComputeService::new(
                host.clone(),
                Arc::clone(driver),
                Arc::clone(&cfg.db),
                Arc::clone(&cfg.bus),
                Arc::clone(&cfg.images),
                config,
            );
            services.push(svc.start().await?);
        }
        let mut api_config = cfg.api.clone();
        api_config.service_down_time = t.service_down_time;
        api_config.call_timeout = t.call_timeout;
        let api = ComputeApi::new(cfg.db, cfg.bus, cfg.images, api_config);
        Ok(Self { api, services })
    }

    /// Names of the running services (`scheduler`, `network`, `volume`,
    /// `compute.<host>`...).
    pub fn service_names(&self) -> Vec<String> {
        self.services.iter().map(|s| s.name().to_owned()).collect()
    }

    /// Stops one service by name (e.g. `compute.node2` to simulate a dead
    /// host: its heartbeats stop). Returns whether it was running.
    pub async fn stop_service(&mut self, name: &str) -> bool {
        match self.services.iter().position(|s| s.name() == name) {
            Some(i) => {
                self.services.swap_remove(i).stop().await;
                true
            }
            None => false,
        }
    }

    /// Stops every service.
    pub async fn shutdown(self) {
        for s in self.services {
            s.stop().await;
        }
    }
}
