//! Flavors and key pairs.

use ssh_key::{Algorithm, LineEnding, PrivateKey};

use super::{require_admin, ComputeApi, RequestContext};
use crate::error::{Error, Result};
use crate::model::keypair::validate_name;
use crate::model::{Flavor, FlavorId, KeyPair};

impl ComputeApi {
    /// All flavors (non-admins see the public ones).
    pub async fn list_flavors(&self, ctx: &RequestContext) -> Result<Vec<Flavor>> {
        let all = self.db.list_flavors().await?;
        Ok(all
            .into_iter()
            .filter(|f| ctx.is_admin() || f.is_public)
            .collect())
    }

    /// One flavor by id or name.
    pub async fn get_flavor(&self, _ctx: &RequestContext, id_or_name: &str) -> Result<Flavor> {
        if let Ok(id) = FlavorId::new(id_or_name) {
            match self.db.get_flavor(&id).await {
                Err(Error::NotFound { .. }) => {}
                other => return other,
            }
        }
        self.db
            .list_flavors()
            .await?
            .into_iter()
            .find(|f| f.name == id_or_name)
            .ok_or_else(|| Error::not_found(format!("flavor {id_or_name}")))
    }

    /// Admin: creates a flavor (a UUID id when `flavor.id` is `auto`, the
    /// way `openstack flavor create` without `--id` asks for one).
    pub async fn create_flavor(&self, ctx: &RequestContext, mut flavor: Flavor) -> Result<Flavor> {
        require_admin(ctx, "os_compute_api:os-flavor-manage:create")?;
        if flavor.id.as_str() == "auto" {
            flavor.id = FlavorId::new(uuid::Uuid::new_v4().to_string())?;
        }
        flavor.validate()?;
        self.db.create_flavor(&flavor).await?;
        Ok(flavor)
    }

    /// Admin: deletes a flavor.
    pub async fn delete_flavor(&self, ctx: &RequestContext, id: &FlavorId) -> Result<()> {
        require_admin(ctx, "os_compute_api:os-flavor-manage:delete")?;
        self.db.delete_flavor(id).await
    }

    /// Imports `public_key` as the caller's key pair `name`, or generates
    /// an ed25519 one and returns its private key (OpenSSH PEM) beside it.
    pub async fn create_key_pair(
        &self,
        ctx: &RequestContext,
        name: &str,
        public_key: Option<&str>,
    ) -> Result<(KeyPair, Option<String>)> {
        validate_name(name)?;
        let (public, private) = match public_key {
            Some(p) => (p.to_owned(), None),
            None => {
                let (public, private) = generate_ed25519()?;
                (public, Some(private))
            }
        };
        let key = KeyPair::new(name, ctx.user_id.clone(), &public)?;
        self.db.create_key_pair(&key).await.map_err(|e| match e {
            Error::AlreadyExists { .. } => Error::already_exists(format!("Key pair '{name}'")),
            other => other,
        })?;
        Ok((key, private))
    }

    /// The caller's key pairs.
    pub async fn list_key_pairs(&self, ctx: &RequestContext) -> Result<Vec<KeyPair>> {
        self.db.list_key_pairs(&ctx.user_id).await
    }

    /// One of the caller's key pairs.
    pub async fn get_key_pair(&self, ctx: &RequestContext, name: &str) -> Result<KeyPair> {
        self.db.get_key_pair(&ctx.user_id, name).await
    }

    /// Deletes one of the caller's key pairs.
    pub async fn delete_key_pair(&self, ctx: &RequestContext, name: &str) -> Result<()> {
        self.db.delete_key_pair(&ctx.user_id, name).await
    }
}

/// A fresh ed25519 key: the OpenSSH public line and the private PEM.
fn generate_ed25519() -> Result<(String, String)> {
    let bad = |e: ssh_key::Error| Error::backend("ssh-key", e);
    let key = PrivateKey::random(&mut rand::rngs::OsRng, Algorithm::Ed25519).map_err(bad)?;
    let private = key.to_openssh(LineEnding::LF).map_err(bad)?;
    let public = key.public_key().to_openssh().map_err(bad)?;
    Ok((public, private.to_string()))
}
