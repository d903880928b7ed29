//! Server actions: reboot, start, stop, console output, live migration.

use std::time::SystemTime;

use super::{require_admin, ComputeApi, RequestContext};
use crate::bus::Topic;
use crate::error::{Error, Result};
use crate::model::{HostName, Instance, InstanceAction, InstanceId};
use crate::scheduler::RequestSpec;
use crate::service::rpc::{self, InstanceArgs, LiveMigrateArgs, RebootArgs, RunInstances};

impl ComputeApi {
    /// Checks `action`, sets its task state (compare-and-set) and returns
    /// the record and its host.
    async fn begin_action(
        &self,
        ctx: &RequestContext,
        id: &InstanceId,
        action: InstanceAction,
    ) -> Result<(Instance, HostName)> {
        let mut i = self.get_server(ctx, id).await?;
        let expected = i.task_state;
        i.begin(action)?;
        let host = i.host.clone().ok_or_else(|| {
            Error::conflict(format!(
                "Cannot '{}' instance {id} while it has no host",
                action.name()
            ))
        })?;
        let i = self.db.update_instance(&i, expected).await?;
        Ok((i, host))
    }

    /// Soft or hard reboot (Conflict when the state forbids it).
    pub async fn reboot(&self, ctx: &RequestContext, id: &InstanceId, hard: bool) -> Result<()> {
        let action = if hard {
            InstanceAction::RebootHard
        } else {
            InstanceAction::RebootSoft
        };
        let (_, host) = self.begin_action(ctx, id, action).await?;
        let args = RebootArgs {
            ctx: ctx.clone(),
            instance_id: *id,
            hard,
        };
        let topic = Topic::compute_host(&host);
        rpc::cast(&*self.bus, &topic, rpc::REBOOT_INSTANCE, &args).await
    }

    /// Powers a stopped server on.
    pub async fn start(&self, ctx: &RequestContext, id: &InstanceId) -> Result<()> {
        let (_, host) = self.begin_action(ctx, id, InstanceAction::Start).await?;
        let args = InstanceArgs {
            ctx: ctx.clone(),
            instance_id: *id,
        };
        rpc::cast(
            &*self.bus,
            &Topic::compute_host(&host),
            rpc::START_INSTANCE,
            &args,
        )
        .await
    }

    /// Powers an active server off.
    pub async fn stop(&self, ctx: &RequestContext, id: &InstanceId) -> Result<()> {
        let (_, host) = self.begin_action(ctx, id, InstanceAction::Stop).await?;
        let args = InstanceArgs {
            ctx: ctx.clone(),
            instance_id: *id,
        };
        rpc::cast(
            &*self.bus,
            &Topic::compute_host(&host),
            rpc::STOP_INSTANCE,
            &args,
        )
        .await
    }

    /// The console log, the last `length` lines when given (nova's rule:
    /// the last `length` items of `split('\n')`).
    pub async fn console_output(
        &self,
        ctx: &RequestContext,
        id: &InstanceId,
        length: Option<usize>,
    ) -> Result<String> {
        let i = self.get_server(ctx, id).await?;
        i.check_action(InstanceAction::ConsoleOutput)?;
        let host = i
            .host
            .clone()
            .ok_or_else(|| Error::conflict(format!("instance {id} has no host yet")))?;
        let args = InstanceArgs {
            ctx: ctx.clone(),
            instance_id: *id,
        };
        let topic = Topic::compute_host(&host);
        let log: String = rpc::call(
            &*self.bus,
            &topic,
            rpc::GET_CONSOLE_OUTPUT,
            &args,
            self.config.call_timeout,
        )
        .await?;
        Ok(tail_lines(&log, length))
    }

    /// Admin: live-migrates to `host` (or a scheduler-chosen one).
    /// InvalidInput for an unknown host or the server's own host,
    /// Conflict when the destination is down or disabled or the state
    /// forbids it.
    pub async fn live_migrate(
        &self,
        ctx: &RequestContext,
        id: &InstanceId,
        host: Option<HostName>,
        block_migration: Option<bool>,
    ) -> Result<()> {
        require_admin(ctx, "os_compute_api:os-migrate-server:migrate_live")?;
        let i = self.get_server(ctx, id).await?;
        i.check_action(InstanceAction::LiveMigrate)?;
        let source = i
            .host
            .clone()
            .ok_or_else(|| Error::conflict(format!("instance {id} has no host")))?;
        let dest = match host {
            Some(h) => {
                if h == source {
                    return Err(Error::invalid(format!(
                        "The supplied hypervisor {h} is the instance's current host"
                    )));
                }
                let svc = match self.db.get_service(&h).await {
                    Err(Error::NotFound { .. }) => {
                        return Err(Error::invalid(format!(
                            "Compute host {h} could not be found."
                        )))
                    }
                    other => other?,
                };
                if !svc.enabled || !svc.is_up(SystemTime::now(), self.config.service_down_time) {
                    return Err(Error::conflict(format!(
                        "Compute service of {h} is unavailable at this time."
                    )));
                }
                h
            }
            None => {
                let mut spec = RequestSpec::new(i.resources);
                spec.ignore_hosts = vec![source.clone()];
                spec.instance_id = Some(*id);
                let args = RunInstances {
                    ctx: ctx.clone(),
                    instance_ids: Vec::new(),
                    spec,
                };
                rpc::call(
                    &*self.bus,
                    &Topic::scheduler(),
                    rpc::SELECT_DESTINATION,
                    &args,
                    self.config.call_timeout,
                )
                .await?
            }
        };
        let (_, source) = self
            .begin_action(ctx, id, InstanceAction::LiveMigrate)
            .await?;
        let args = LiveMigrateArgs {
            ctx: ctx.clone(),
            instance_id: *id,
            dest,
            block_migration: block_migration.unwrap_or(false),
        };
        rpc::cast(
            &*self.bus,
            &Topic::compute_host(&source),
            rpc::LIVE_MIGRATE,
            &args,
        )
        .await
    }
}

/// The last `length` items of `log.split('\n')` joined again, as nova does.
pub(crate) fn tail_lines(log: &str, length: Option<usize>) -> String {
    match length {
        None => log.to_owned(),
        Some(n) => {
            let lines: Vec<&str> = log.split('\n').collect();
            let skip = lines.len().saturating_sub(n);
            lines[skip..].join("\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tail_lines;

    #[test]
    fn tail_follows_nova_split_rule() {
        assert_eq!(tail_lines("a\nb\nc\n", Some(2)), "c\n");
        assert_eq!(tail_lines("a\nb\nc", Some(2)), "b\nc");
        assert_eq!(tail_lines("a\nb", Some(10)), "a\nb");
        assert_eq!(tail_lines("a\nb", None), "a\nb");
        assert_eq!(tail_lines("a\nb", Some(0)), "");
    }
}
