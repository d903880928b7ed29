//! Security groups of the caller's project: the `default` group made on
//! first use, create/list/get/delete (Conflict for `default` and groups in
//! use) and ingress rules.

use super::{ComputeApi, RequestContext};
use crate::error::{Error, Result};
use crate::model::{InstanceId, RuleSource, SecurityGroup, SecurityGroupRule, DEFAULT_GROUP};

impl ComputeApi {
    /// The caller's `default` group, made on first use (concurrent first
    /// uses agree on one group).
    pub async fn default_security_group(&self, ctx: &RequestContext) -> Result<SecurityGroup> {
        if let Some(g) = self.own_group_named(ctx, DEFAULT_GROUP).await? {
            return Ok(g);
        }
        let g = SecurityGroup::new(
            ctx.project_id.clone(),
            DEFAULT_GROUP,
            "Default security group",
        )?;
        match self.db().create_security_group(&g).await {
            Ok(()) => Ok(g),
            Err(Error::AlreadyExists { .. }) => self
                .own_group_named(ctx, DEFAULT_GROUP)
                .await?
                .ok_or_else(|| Error::not_found(format!("security group {DEFAULT_GROUP}"))),
            Err(e) => Err(e),
        }
    }

    async fn own_group_named(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<Option<SecurityGroup>> {
        let groups = self
            .db()
            .list_security_groups(Some(&ctx.project_id))
            .await?;
        Ok(groups.into_iter().find(|g| g.name == name))
    }

    /// The caller's groups, sorted by name (`default` included).
    pub async fn list_security_groups(&self, ctx: &RequestContext) -> Result<Vec<SecurityGroup>> {
        self.default_security_group(ctx).await?;
        self.db().list_security_groups(Some(&ctx.project_id)).await
    }

    /// One group the caller may see, by id (NotFound otherwise).
    pub async fn get_security_group(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<SecurityGroup> {
        let g = self.db().get_security_group(id).await?;
        if ctx.can_access(&g.project_id) {
            Ok(g)
        } else {
            Err(Error::not_found(format!("security group {id}")))
        }
    }

    /// One of the caller's groups by name (NotFound otherwise).
    pub async fn find_security_group(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<SecurityGroup> {
        if name == DEFAULT_GROUP {
            return self.default_security_group(ctx).await;
        }
        self.own_group_named(ctx, name)
            .await?
            .ok_or_else(|| Error::not_found(format!("security group {name}")))
    }

    /// Creates a group in the caller's project (InvalidInput for a bad
    /// name or description, AlreadyExists for a taken name).
    pub async fn create_security_group(
        &self,
        ctx: &RequestContext,
        name: &str,
        description: &str,
    ) -> Result<SecurityGroup> {
        let g = SecurityGroup::new(ctx.project_id.clone(), name, description)?;
        if name == DEFAULT_GROUP {
            self.default_security_group(ctx).await?;
        }
        self.db().create_security_group(&g).await?;
        Ok(g)
    }

    /// Deletes a group: Conflict for `default` and while an instance is a
    /// member.
    pub async fn delete_security_group(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        let g = self.get_security_group(ctx, id).await?;
        if g.name == DEFAULT_GROUP {
            return Err(Error::conflict(
                "Removing the default security group is not allowed",
            ));
        }
        self.db().delete_security_group(&g.id).await
    }

    /// Adds an ingress rule (already validated by
    /// [`SecurityGroupRule::new`]). A group source must be a group of the
    /// same project (InvalidInput otherwise); AlreadyExists for a
    /// duplicate rule.
    pub async fn authorize_ingress(
        &self,
        ctx: &RequestContext,
        group: &str,
        rule: SecurityGroupRule,
    ) -> Result<SecurityGroup> {
        let g = self.get_security_group(ctx, group).await?;
        if let RuleSource::Group(source) = &rule.source {
            let s = self.db().get_security_group(source).await;
            if !matches!(&s, Ok(s) if s.project_id == g.project_id) {
                return Err(Error::invalid(format!(
                    "Source security group {source} is not a group of this project"
                )));
            }
        }
        self.db().add_security_group_rule(&g.id, &rule).await
    }

    /// Removes the rule admitting the same traffic as `rule` (NotFound
    /// when the group has none).
    pub async fn revoke_ingress(
        &self,
        ctx: &RequestContext,
        group: &str,
        rule: &SecurityGroupRule,
    ) -> Result<SecurityGroup> {
        let g = self.get_security_group(ctx, group).await?;
        let id = g
            .same_rule(rule)
            .map(|r| r.id.clone())
            .ok_or_else(|| Error::not_found("No rule for the specified parameters"))?;
        self.db().remove_security_group_rule(&g.id, &id).await
    }

    /// Makes a server of the caller a member of the named groups of its
    /// project (`default` when `names` is empty); returns the groups.
    pub async fn set_server_security_groups(
        &self,
        ctx: &RequestContext,
        server: &InstanceId,
        names: &[String],
    ) -> Result<Vec<SecurityGroup>> {
        let i = self.db().get_instance(server).await?;
        if !ctx.can_access(&i.project_id) {
            return Err(Error::not_found(format!("instance {server}")));
        }
        let groups = self.resolve_security_groups(ctx, names).await?;
        let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
        self.db().set_instance_security_groups(server, &ids).await?;
        Ok(groups)
    }

    /// The caller's groups with these names or ids (`default` when
    /// `names` is empty); NotFound naming the first unknown one.
    pub async fn resolve_security_groups(
        &self,
        ctx: &RequestContext,
        names: &[String],
    ) -> Result<Vec<SecurityGroup>> {
        if names.is_empty() {
            return Ok(vec![self.default_security_group(ctx).await?]);
        }
        let all = self.list_security_groups(ctx).await?;
        let mut out: Vec<SecurityGroup> = Vec::new();
        for n in names {
            let g = all
                .iter()
                .find(|g| &g.name == n || &g.id == n)
                .ok_or_else(|| Error::not_found(format!("security group {n}")))?;
            if !out.iter().any(|o| o.id == g.id) {
                out.push(g.clone());
            }
        }
        Ok(out)
    }

    /// The groups a server is a member of.
    pub async fn server_security_groups(
        &self,
        ctx: &RequestContext,
        server: &InstanceId,
    ) -> Result<Vec<SecurityGroup>> {
        let groups = self.db().instance_security_groups(server).await?;
        Ok(groups
            .into_iter()
            .filter(|g| ctx.can_access(&g.project_id))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use super::*;
    use crate::model::{default_flavors, Instance, IpProtocol, ProjectId, UserId};

    fn ctx(project: &str) -> RequestContext {
        RequestContext::new(
            UserId::new("u").unwrap(),
            ProjectId::new(project).unwrap(),
            vec!["member".into()],
        )
    }

    fn cidr_rule(port: i32) -> SecurityGroupRule {
        let src = RuleSource::Cidr("0.0.0.0/0".parse().unwrap());
        SecurityGroupRule::new(IpProtocol::Tcp, port, port, src).unwrap()
    }

    #[derive(Debug)]
    struct NoImages;

    #[async_trait::async_trait]
    impl crate::image::ImageService for NoImages {
        async fn show(&self, _: &RequestContext, id: &str) -> Result<crate::image::ImageInfo> {
            Err(Error::not_found(id.to_owned()))
        }
        async fn list(&self, _: &RequestContext) -> Result<Vec<crate::image::ImageInfo>> {
            Ok(Vec::new())
        }
        async fn download(
            &self,
            _: &RequestContext,
            id: &str,
        ) -> Result<crate::image::ImageStream> {
            Err(Error::not_found(id.to_owned()))
        }
    }

    fn api() -> ComputeApi {
        let db = crate::db::SqliteNovaDb::open_in_memory().unwrap();
        ComputeApi::new(
            Arc::new(db),
            Arc::new(crate::bus::InProcessBus::new()),
            Arc::new(NoImages),
            super::super::ApiConfig::default(),
        )
    }

    #[tokio::test]
    async fn groups_are_scoped_and_default_is_protected() {
        let api = api();
        let (a, b) = (ctx("a"), ctx("b"));
        let groups = api.list_security_groups(&a).await.unwrap();
        assert_eq!(groups.len(), 1);
        let default = groups[0].clone();
        assert_eq!(default.name, DEFAULT_GROUP);
        assert_eq!(api.default_security_group(&a).await.unwrap().id, default.id);
        let e = api
            .delete_security_group(&a, &default.id)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Conflict { .. }), "{e:?}");

        let web = api.create_security_group(&a, "web", "w").await.unwrap();
        let e = api.create_security_group(&a, "web", "w").await.unwrap_err();
        assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
        let e = api.create_security_group(&a, "", "w").await.unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
        // Project b sees nothing of a's.
        let e = api.get_security_group(&b, &web.id).await.unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
        let e = api
            .authorize_ingress(&b, &web.id, cidr_rule(22))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
        assert_eq!(api.list_security_groups(&b).await.unwrap().len(), 1);

        let g = api
            .authorize_ingress(&a, &web.id, cidr_rule(22))
            .await
            .unwrap();
        assert_eq!(g.rules.len(), 1);
        let e = api
            .authorize_ingress(&a, &web.id, cidr_rule(22))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
        let foreign = api.default_security_group(&b).await.unwrap();
        let src = RuleSource::Group(foreign.id.clone());
        let by_group = SecurityGroupRule::new(IpProtocol::Tcp, 80, 80, src).unwrap();
        let e = api
            .authorize_ingress(&a, &web.id, by_group)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
        let g = api
            .revoke_ingress(&a, &web.id, &cidr_rule(22))
            .await
            .unwrap();
        assert!(g.rules.is_empty());
        let e = api
            .revoke_ingress(&a, &web.id, &cidr_rule(22))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e:?}");

        // Membership blocks deletion.
        let vm = Instance::new(
            "vm",
            a.project_id.clone(),
            a.user_id.clone(),
            &default_flavors()[0],
            None,
        );
        api.db().create_instance(&vm).await.unwrap();
        let e = api
            .set_server_security_groups(&b, &vm.id, &[])
            .await
            .unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
        let set = api
            .set_server_security_groups(&a, &vm.id, &["web".into(), web.id.clone()])
            .await
            .unwrap();
        assert_eq!(set.len(), 1);
        let e = api.delete_security_group(&a, &web.id).await.unwrap_err();
        assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
        assert_eq!(
            api.server_security_groups(&a, &vm.id).await.unwrap()[0].name,
            "web"
        );
        api.set_server_security_groups(&a, &vm.id, &[])
            .await
            .unwrap();
        api.delete_security_group(&a, &web.id).await.unwrap();
    }
}
