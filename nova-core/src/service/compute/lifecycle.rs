//! Boot, delete, reboot, start and stop on the compute host.

use super::ComputeService;
use crate::api::boot::quota_of;
use crate::bus::Topic;
use crate::error::{Error, Result};
use crate::model::{Instance, InstanceId, PowerState, TaskState, VmState};
use crate::network::NetworkAllocation;
use crate::service::rpc::{self, AllocateArgs, DeallocateArgs, InstanceArgs, RebootArgs};
use crate::virt::{RebootType, SpawnRequest};

impl ComputeService {
    pub(super) async fn run_instance(&self, a: InstanceArgs) -> Result<()> {
        let id = a.instance_id;
        let host = self.host.clone();
        let started = self
            .update(&id, Some(TaskState::Scheduling), |i| {
                i.host = Some(host.clone());
                i.task_state = Some(TaskState::Networking);
            })
            .await;
        let i = match started {
            Ok(Some(i)) => i,
            // Deleted, or taken by another request meanwhile.
            Ok(None) | Err(Error::Conflict { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        if let Err(e) = self.build(&a, i).await {
            self.abort_build(&id, &error_chain(&e)).await;
            return Err(e);
        }
        self.refresh_resources().await;
        Ok(())
    }

    async fn build(&self, a: &InstanceArgs, i: Instance) -> Result<()> {
        let id = i.id;
        let allocs: Vec<NetworkAllocation> = rpc::call(
            &*self.bus,
            &Topic::network(),
            rpc::ALLOCATE_FOR_INSTANCE,
            &AllocateArgs {
                instance_id: id,
                project_id: i.project_id.clone(),
                hostname: hostname_of(&i),
            },
            self.config.call_timeout,
        )
        .await?;
        let Some(i) = self
            .update(&id, Some(TaskState::Networking), |i| {
                i.task_state = Some(TaskState::Spawning)
            })
            .await?
        else {
            return Ok(());
        };
        if let Some(image) = &i.image_ref {
            let info = self.images.show(&a.ctx, image).await?;
            if info.status != "active" {
                return Err(Error::invalid(format!("image {image} is not active")));
            }
        }
        let mut req = self.spawn_request(&i).await?;
        req.vifs = allocs.iter().map(NetworkAllocation::vif).collect();
        self.driver.spawn(&req).await?;
        let power = self.driver.instance_info(&id).await?.power_state;
        let done = self
            .update(&id, Some(TaskState::Spawning), |i| {
                i.settle(VmState::Active, power);
            })
            .await;
        match done {
            Ok(Some(_)) => Ok(()),
            // Deleted while spawning: the terminate handler may have run
            // before the guest existed, so make sure it is gone.
            Ok(None) | Err(Error::Conflict { .. }) => {
                let _ = self.driver.destroy(&id).await;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// What the driver needs to create `i` (no network: the caller adds it).
    pub(super) async fn spawn_request(&self, i: &Instance) -> Result<SpawnRequest> {
        let mut req = SpawnRequest::new(i.id, &i.name, i.resources);
        if let Some(k) = &i.key_name {
            if let Ok(k) = self.db.get_key_pair(&i.user_id, k).await {
                req.key_data = Some(k.public_key);
            }
        }
        Ok(req)
    }

    /// A failed boot: the instance goes to `error` with the fault, and its
    /// addresses, guest and quota are given back.
    async fn abort_build(&self, id: &InstanceId, message: &str) {
        let _ = self.driver.destroy(id).await;
        self.deallocate_network(id).await;
        for _ in 0..5 {
            let Ok(Some(mut i)) = self.instance(id).await else {
                return;
            };
            if i.task_state == Some(TaskState::Deleting) {
                return;
            }
            let expected = i.task_state;
            i.fail(500, message);
            let release = !i.quota_released;
            i.quota_released = true;
            match self.db.update_instance(&i, expected).await {
                Ok(_) => {
                    if release {
                        let _ = self.db.release_quota(&i.project_id, &quota_of(&i)).await;
                    }
                    return;
                }
                Err(Error::Conflict { .. }) => continue,
                Err(_) => return,
            }
        }
    }

    async fn deallocate_network(&self, id: &InstanceId) {
        let args = DeallocateArgs { instance_id: *id };
        let _: Result<()> = rpc::call(
            &*self.bus,
            &Topic::network(),
            rpc::DEALLOCATE_FOR_INSTANCE,
            &args,
            self.config.call_timeout,
        )
        .await;
    }

    pub(super) async fn terminate(&self, a: InstanceArgs) -> Result<()> {
        let id = a.instance_id;
        let Some(i) = self.instance(&id).await? else {
            return Ok(());
        };
        self.driver.destroy(&id).await?;
        for v in self.db.list_volumes(Some(&i.project_id)).await? {
            if v.attachment.as_ref().is_some_and(|at| at.instance_id == id) {
                self.db.detach_volume(&v.id, &id).await?;
            }
        }
        self.deallocate_network(&id).await;
        if !i.quota_released {
            self.db.release_quota(&i.project_id, &quota_of(&i)).await?;
        }
        match self.db.delete_instance(&id).await {
            Ok(()) | Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        self.refresh_resources().await;
        Ok(())
    }

    pub(super) async fn reboot(&self, a: RebootArgs) -> Result<()> {
        let (kind, task) = if a.hard {
            (RebootType::Hard, TaskState::RebootingHard)
        } else {
            (RebootType::Soft, TaskState::Rebooting)
        };
        let r = self.driver.reboot(&a.instance_id, kind).await;
        self.finish(&a.instance_id, task, r, VmState::Active).await
    }

    pub(super) async fn power(&self, a: InstanceArgs, on: bool) -> Result<()> {
        let id = a.instance_id;
        if on {
            let r = self.driver.power_on(&id).await;
            self.finish(&id, TaskState::PoweringOn, r, VmState::Active)
                .await
        } else {
            let r = self.driver.power_off(&id).await;
            self.finish(&id, TaskState::PoweringOff, r, VmState::Stopped)
                .await
        }
    }

    /// Settles an action: on success in `to` with the driver's power
    /// state; on failure back to idle in the state it had.
    async fn finish(
        &self,
        id: &InstanceId,
        task: TaskState,
        outcome: Result<()>,
        to: VmState,
    ) -> Result<()> {
        let power = match self.driver.instance_info(id).await {
            Ok(info) => info.power_state,
            Err(_) => PowerState::NoState,
        };
        let ok = outcome.is_ok();
        self.update(id, Some(task), |i| {
            let vm = if ok { to } else { i.vm_state };
            i.settle(vm, power);
        })
        .await?;
        outcome
    }
}

/// The guest host name Nova derives from the display name.
fn hostname_of(i: &Instance) -> String {
    let h: String = i
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let h = h.trim_matches('-');
    if h.is_empty() {
        format!("server-{}", i.id)
    } else {
        h.chars().take(63).collect()
    }
}

/// `e` and its sources, joined with `: ` (the fault message).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}
