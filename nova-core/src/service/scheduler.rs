//! [`SchedulerService`]: places new instances on compute hosts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::Mutex;

use super::rpc::{self, InstanceArgs, RunInstances};
use super::runner::{serve, Handler, ServiceHandle};
use crate::api::boot::quota_of;
use crate::bus::{MessageBus, Topic};
use crate::db::{InstanceFilter, NovaDb};
use crate::error::{Error, Result};
use crate::model::{
    HostName, InstanceId, Resources, TaskState, VmState, DEFAULT_SERVICE_DOWN_TIME,
};
use crate::scheduler::{HostState, Scheduler};

/// Consumes the `scheduler` topic: builds host states from the database
/// (up/down from heartbeats, use from the instances placed there), picks
/// hosts with the configured [`Scheduler`], records the choice and casts
/// `run_instance` to `compute.<host>`. When no host fits, the instances
/// go to `error` with the fault "No valid host was found" and their quota
/// is given back.
#[derive(Debug)]
pub struct SchedulerService {
    db: Arc<dyn NovaDb>,
    bus: Arc<dyn MessageBus>,
    scheduler: Arc<dyn Scheduler>,
    down_time: Duration,
    /// One placement at a time, so two requests never claim the same room.
    placing: Mutex<()>,
}

impl SchedulerService {
    /// A scheduler service choosing with `scheduler`; hosts silent for
    /// longer than `down_time` are down
    /// ([`DEFAULT_SERVICE_DOWN_TIME`] is Nova's default).
    pub fn new(
        db: Arc<dyn NovaDb>,
        bus: Arc<dyn MessageBus>,
        scheduler: Arc<dyn Scheduler>,
        down_time: Duration,
    ) -> Self {
        Self {
            db,
            bus,
            scheduler,
            down_time,
            placing: Mutex::new(()),
        }
    }

    /// With Nova's default down time.
    pub fn with_defaults(
        db: Arc<dyn NovaDb>,
        bus: Arc<dyn MessageBus>,
        scheduler: Arc<dyn Scheduler>,
    ) -> Self {
        Self::new(db, bus, scheduler, DEFAULT_SERVICE_DOWN_TIME)
    }

    /// Starts consuming `scheduler`.
    pub async fn start(self) -> Result<ServiceHandle> {
        let bus = Arc::clone(&self.bus);
        let mut handle = ServiceHandle::new("scheduler");
        serve(&bus, &Topic::scheduler(), Arc::new(self), &mut handle).await?;
        Ok(handle)
    }

    /// The hosts as the scheduler sees them now.
    pub async fn host_states(&self) -> Result<Vec<HostState>> {
        let services = self.db.list_services().await?;
        let instances = self.db.list_instances(&InstanceFilter::default()).await?;
        let mut on: BTreeMap<HostName, (Resources, BTreeSet<InstanceId>)> = BTreeMap::new();
        for i in instances.iter().filter(|i| i.vm_state != VmState::Error) {
            if let Some(h) = &i.host {
                let e = on.entry(h.clone()).or_default();
                e.0 = e.0.plus(i.resources);
                e.1.insert(i.id);
            }
        }
        let now = SystemTime::now();
        Ok(services
            .iter()
            .map(|s| {
                let (used, ids) = on.remove(&s.host).unwrap_or_default();
                let mut st = HostState::of(s, now, self.down_time, ids);
                st.used = used;
                st
            })
            .collect())
    }

    async fn run_instances(&self, msg: RunInstances) -> Result<()> {
        let _placing = self.placing.lock().await;
        let mut waiting = Vec::new();
        for id in &msg.instance_ids {
            match self.db.get_instance(id).await {
                Ok(i) if i.task_state == Some(TaskState::Scheduling) && i.host.is_none() => {
                    waiting.push(i)
                }
                Ok(_) | Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if waiting.is_empty() {
            return Ok(());
        }
        let hosts = self.host_states().await?;
        let mut spec = msg.spec.clone();
        spec.num_instances = u32::try_from(waiting.len()).unwrap_or(u32::MAX);
        let picks = match self.scheduler.select_hosts(&hosts, &spec) {
            Ok(p) => p,
            Err(e) => {
                for i in waiting {
                    self.no_valid_host(i.id, &e.to_string()).await?;
                }
                return Ok(());
            }
        };
        let zones: BTreeMap<_, _> = hosts
            .iter()
            .map(|h| (h.host.clone(), h.zone.clone()))
            .collect();
        for (mut i, host) in waiting.into_iter().zip(picks) {
            i.host = Some(host.clone());
            if let Some(z) = zones.get(&host) {
                i.availability_zone = Some(z.clone());
            }
            match self
                .db
                .update_instance(&i, Some(TaskState::Scheduling))
                .await
            {
                Ok(_) => {}
                // Deleted or changed meanwhile: nothing to run.
                Err(Error::Conflict { .. } | Error::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            }
            let args = InstanceArgs {
                ctx: msg.ctx.clone(),
                instance_id: i.id,
            };
            rpc::cast(
                &*self.bus,
                &Topic::compute_host(&host),
                rpc::RUN_INSTANCE,
                &args,
            )
            .await?;
        }
        Ok(())
    }

    async fn no_valid_host(&self, id: InstanceId, message: &str) -> Result<()> {
        let mut i = match self.db.get_instance(&id).await {
            Ok(i) => i,
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        if i.task_state != Some(TaskState::Scheduling) {
            return Ok(());
        }
        i.fail(500, message);
        i.quota_released = true;
        match self
            .db
            .update_instance(&i, Some(TaskState::Scheduling))
            .await
        {
            Ok(_) => self.db.release_quota(&i.project_id, &quota_of(&i)).await,
            Err(Error::Conflict { .. } | Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn select_destination(&self, msg: RunInstances) -> Result<HostName> {
        let hosts = self.host_states().await?;
        self.scheduler.select_host(&hosts, &msg.spec)
    }
}

#[async_trait]
impl Handler for SchedulerService {
    async fn handle(self: Arc<Self>, method: String, args: Value) -> Result<Value> {
        match method.as_str() {
            rpc::RUN_INSTANCES => {
                self.run_instances(rpc::decode(args)?).await?;
                Ok(Value::Null)
            }
            rpc::SELECT_DESTINATION => {
                let host = self.select_destination(rpc::decode(args)?).await?;
                Ok(Value::String(host.to_string()))
            }
            other => Err(Error::invalid(format!("scheduler has no method {other}"))),
        }
    }
}
