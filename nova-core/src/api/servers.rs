//! Servers: boot, show, list, delete, metadata, addresses.

use std::collections::BTreeMap;

use std::time::SystemTime;

use super::boot::quota_of;
use super::require_admin;
use super::{AddressKind, Addresses, ComputeApi, RequestContext, ServerAddress, ServerFilter};
use crate::bus::Topic;
use crate::db::InstanceFilter;
use crate::error::{Error, Result};
use crate::model::{Instance, InstanceAction, InstanceId};
use crate::service::rpc::{self, DeallocateArgs};

impl ComputeApi {
    /// One server the caller may see.
    pub async fn get_server(&self, ctx: &RequestContext, id: &InstanceId) -> Result<Instance> {
        let not_found = || Error::not_found(format!("Instance {id} could not be found."));
        match self.db.get_instance(id).await {
            Ok(i) if ctx.can_access(&i.project_id) => Ok(i),
            Ok(_) | Err(Error::NotFound { .. }) => Err(not_found()),
            Err(e) => Err(e),
        }
    }

    /// Servers the caller may see, newest first, paged.
    pub async fn list_servers(
        &self,
        ctx: &RequestContext,
        filter: &ServerFilter,
    ) -> Result<Vec<Instance>> {
        if filter.all_projects {
            require_admin(ctx, "os_compute_api:servers:index:get_all_tenants")?;
        }
        let project = if filter.all_projects {
            filter.project_id.clone()
        } else {
            Some(ctx.project_id.clone())
        };
        let f = InstanceFilter {
            project_id: project,
            host: filter.host.clone().filter(|_| ctx.is_admin()),
            status: filter.status,
            changes_since: filter.changes_since,
            ..InstanceFilter::default()
        };
        let all = self.db.list_instances(&f).await?;
        let matching: Vec<Instance> = all
            .into_iter()
            .filter(|i| filter.ids.is_empty() || filter.ids.contains(&i.id))
            .filter(|i| {
                filter
                    .name
                    .as_deref()
                    .is_none_or(|p| name_matches(p, &i.name))
            })
            .collect();
        let start = match &filter.marker {
            None => 0,
            Some(m) => {
                matching
                    .iter()
                    .position(|i| i.id == *m)
                    .ok_or_else(|| Error::invalid(format!("marker [{m}] not found")))?
                    + 1
            }
        };
        let limit = filter.limit.unwrap_or(usize::MAX);
        Ok(matching.into_iter().skip(start).take(limit).collect())
    }

    /// Deletes a server (task `deleting`; the compute host destroys it,
    /// releases its addresses, volumes and quota, then removes the record).
    /// A server never scheduled to a host is removed at once.
    pub async fn delete_server(&self, ctx: &RequestContext, id: &InstanceId) -> Result<()> {
        let mut i = self.get_server(ctx, id).await?;
        let expected = i.task_state;
        i.begin(InstanceAction::Delete)?;
        let i = self.db.update_instance(&i, expected).await?;
        match &i.host {
            Some(host) if self.host_is_up(host).await? => {
                let args = rpc::InstanceArgs {
                    ctx: ctx.clone(),
                    instance_id: *id,
                };
                let topic = Topic::compute_host(host);
                rpc::cast(&*self.bus, &topic, rpc::TERMINATE_INSTANCE, &args).await
            }
            // Never scheduled, or its host is down: delete here, as nova's
            // "local delete" does.
            _ => self.local_delete(&i).await,
        }
    }

    async fn host_is_up(&self, host: &crate::model::HostName) -> Result<bool> {
        match self.db.get_service(host).await {
            Ok(h) => Ok(h.is_up(SystemTime::now(), self.config.service_down_time)),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Frees what the instance holds in the database and removes it.
    async fn local_delete(&self, i: &Instance) -> Result<()> {
        for v in self.db.list_volumes(Some(&i.project_id)).await? {
            if v.attachment.as_ref().is_some_and(|a| a.instance_id == i.id) {
                self.db.detach_volume(&v.id, &i.id).await?;
            }
        }
        if !self.db.fixed_ips_of(&i.id).await?.is_empty() {
            let args = DeallocateArgs { instance_id: i.id };
            let r: Result<()> = rpc::call(
                &*self.bus,
                &Topic::network(),
                rpc::DEALLOCATE_FOR_INSTANCE,
                &args,
                self.config.call_timeout,
            )
            .await;
            // Without a network service the records still go (with the
            // instance, below); only the host effects are missed.
            let _ = r;
        }
        if !i.quota_released {
            self.db.release_quota(&i.project_id, &quota_of(i)).await?;
        }
        match self.db.delete_instance(&i.id).await {
            Ok(()) | Err(Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Replaces (or, with `replace == false`, merges) server metadata.
    pub async fn update_metadata(
        &self,
        ctx: &RequestContext,
        id: &InstanceId,
        metadata: BTreeMap<String, String>,
        replace: bool,
    ) -> Result<BTreeMap<String, String>> {
        for (k, v) in &metadata {
            if k.is_empty() || k.len() > 255 || v.len() > 255 {
                return Err(Error::invalid(
                    "metadata keys must be 1 to 255 characters and values at most 255",
                ));
            }
        }
        self.edit_instance(ctx, id, |i| {
            if replace {
                i.metadata = metadata.clone();
            } else {
                i.metadata.extend(metadata.clone());
            }
            Ok(())
        })
        .await
        .map(|i| i.metadata)
    }

    /// Removes one metadata key (NotFound when absent).
    pub async fn delete_metadata_item(
        &self,
        ctx: &RequestContext,
        id: &InstanceId,
        key: &str,
    ) -> Result<()> {
        self.edit_instance(ctx, id, |i| {
            i.metadata
                .remove(key)
                .map(|_| ())
                .ok_or_else(|| Error::not_found(format!("Metadata item {key}")))
        })
        .await
        .map(|_| ())
    }

    /// Applies `edit` with compare-and-set, retrying when a service moved
    /// the task state meanwhile.
    async fn edit_instance(
        &self,
        ctx: &RequestContext,
        id: &InstanceId,
        edit: impl Fn(&mut Instance) -> Result<()>,
    ) -> Result<Instance> {
        let mut tries = 0;
        loop {
            let mut i = self.get_server(ctx, id).await?;
            let expected = i.task_state;
            edit(&mut i)?;
            match self.db.update_instance(&i, expected).await {
                Err(Error::Conflict { .. }) if tries < 5 => tries += 1,
                other => return other,
            }
        }
    }

    /// Fixed and floating addresses of a server, per network label.
    pub async fn addresses(&self, ctx: &RequestContext, id: &InstanceId) -> Result<Addresses> {
        let i = self.get_server(ctx, id).await?;
        let fixed = self.db.fixed_ips_of(id).await?;
        let floating = self.db.list_floating_ips(Some(&i.project_id)).await?;
        let mut out = Addresses::new();
        for f in fixed {
            let label = match self.db.get_network(&f.network_id).await {
                Ok(n) => n.label,
                Err(_) => f.network_id.to_string(),
            };
            let list = out.entry(label).or_default();
            list.push(ServerAddress {
                addr: f.address,
                kind: AddressKind::Fixed,
                mac: f.mac.clone(),
            });
            for fl in floating
                .iter()
                .filter(|fl| fl.instance_id == Some(*id) && fl.fixed_address == Some(f.address))
            {
                list.push(ServerAddress {
                    addr: fl.address,
                    kind: AddressKind::Floating,
                    mac: f.mac.clone(),
                });
            }
        }
        Ok(out)
    }
}

/// Nova's `name` filter is a regular expression searched in the name;
/// this supports its common forms: a substring, optionally anchored with
/// `^` and `$`.
fn name_matches(pattern: &str, name: &str) -> bool {
    let (start, rest) = match pattern.strip_prefix('^') {
        Some(r) => (true, r),
        None => (false, pattern),
    };
    let (end, core) = match rest.strip_suffix('$') {
        Some(c) => (true, c),
        None => (false, rest),
    };
    match (start, end) {
        (true, true) => name == core,
        (true, false) => name.starts_with(core),
        (false, true) => name.ends_with(core),
        (false, false) => name.contains(core),
    }
}

#[cfg(test)]
mod tests {
    use super::name_matches;

    #[test]
    fn name_filter_handles_anchors() {
        assert!(name_matches("web", "my-web-1"));
        assert!(name_matches("^my", "my-web-1"));
        assert!(!name_matches("^web", "my-web-1"));
        assert!(name_matches("-1$", "my-web-1"));
        assert!(name_matches("^my-web-1$", "my-web-1"));
        assert!(!name_matches("^my-web$", "my-web-1"));
    }
}
