//! S3 on the proxy port: where access keys come from. In process, the
//! identity service's EC2 credentials ([`IdentityS3Credentials`]); for a
//! standalone proxy, a list of keys in its config (`[s3]`).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use identity_core::{Error as IdentityError, IdentityService};
use serde::Deserialize;
use swift_core::proxy::{S3Credential, S3Credentials, S3Secret, StaticS3Credentials};

/// Keystone's EC2 credentials as S3 keys: a key works while its user is
/// enabled and holds a role on its (enabled) project.
#[derive(Debug, Clone)]
pub struct IdentityS3Credentials(pub Arc<IdentityService>);

fn unavailable(e: IdentityError) -> swift_core::Error {
    swift_core::Error::Unavailable {
        reason: format!("ec2 credential lookup: {e}"),
    }
}

#[async_trait]
impl S3Credentials for IdentityS3Credentials {
    async fn lookup(&self, access: &str) -> swift_core::Result<Option<S3Credential>> {
        let cred = match self.0.find_ec2_credential(access).await {
            Ok(c) => c,
            Err(IdentityError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        match self.0.backend().get_user(&cred.user_id).await {
            Ok(u) if u.enabled => {}
            Ok(_) | Err(IdentityError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        }
        let projects = self
            .0
            .projects_for_user(&cred.user_id)
            .await
            .map_err(unavailable)?;
        let member = projects
            .iter()
            .any(|p| p.id == cred.project_id && p.enabled);
        if !member {
            return Ok(None);
        }
        Ok(Some(S3Credential {
            secret: S3Secret::new(cred.secret.expose()),
            project_id: cred.project_id.to_string(),
        }))
    }
}

/// `[s3]` of the proxy's config: serve S3 with these keys.
///
/// ```toml
/// [[s3.keys]]
/// access = "AKEXAMPLE"
/// secret = "changeme"
/// project_id = "test"   # account AUTH_test
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// The access keys.
    #[serde(default)]
    pub keys: Vec<S3KeySettings>,
}

/// One access key of [`S3Settings`].
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3KeySettings {
    /// The access key id.
    pub access: String,
    /// The secret key.
    pub secret: String,
    /// The project (account suffix) requests act on.
    pub project_id: String,
}

impl fmt::Debug for S3KeySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3KeySettings")
            .field("access", &self.access)
            .field("secret", &"<redacted>")
            .field("project_id", &self.project_id)
            .finish()
    }
}

impl S3Settings {
    /// The keys as the proxy's credential source.
    pub fn credentials(&self) -> Arc<dyn S3Credentials> {
        let creds = self.keys.iter().fold(StaticS3Credentials::new(), |c, k| {
            c.with(
                k.access.clone(),
                S3Credential {
                    secret: S3Secret::new(k.secret.clone()),
                    project_id: k.project_id.clone(),
                },
            )
        });
        Arc::new(creds)
    }
}

#[cfg(test)]
mod tests {
    use identity_core::service::{BootstrapConfig, PasswordHashing, UserUpdate};
    use identity_core::{
        AssignmentTarget, DomainId, IdentityConfig, MemoryIdentityBackend, Password,
    };

    use super::*;

    #[tokio::test]
    async fn ec2_credentials_are_s3_keys_while_user_and_role_last() {
        let cfg = IdentityConfig {
            password_hashing: PasswordHashing::insecure_fast(),
            ..IdentityConfig::default()
        };
        let id = IdentityService::new(Arc::new(MemoryIdentityBackend::new()), cfg).unwrap();
        id.bootstrap(&BootstrapConfig::new(Password::new("secret")))
            .await
            .unwrap();
        let id = Arc::new(id);
        let domain = DomainId::default_domain();
        let project = id.create_project(&domain, "p").await.unwrap();
        let user = id.create_user(&domain, "u", None).await.unwrap();
        // The role may come with the bootstrap.
        let _ = id.create_role("member", None).await;
        let target = AssignmentTarget::Project(project.id.clone());
        id.grant_role_by_name(&user.id, target, "member")
            .await
            .unwrap();
        let cred = id
            .create_ec2_credential(&user.id, &project.id)
            .await
            .unwrap();
        let s3 = IdentityS3Credentials(id.clone());
        let got = s3.lookup(&cred.access).await.unwrap().unwrap();
        assert_eq!(got.project_id, project.id.to_string());
        assert_eq!(got.secret.expose(), cred.secret.expose());
        assert!(s3.lookup("unknown").await.unwrap().is_none());
        let off = UserUpdate {
            enabled: Some(false),
            ..UserUpdate::default()
        };
        id.update_user(&user.id, &off).await.unwrap();
        assert!(s3.lookup(&cred.access).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn keys_from_config_and_redaction() {
        let s: S3Settings = toml::from_str(
            "[[keys]]\naccess = \"AK\"\nsecret = \"hunter2\"\nproject_id = \"p1\"\n",
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        let c = s.credentials();
        let k = c.lookup("AK").await.unwrap().unwrap();
        assert_eq!(
            (k.secret.expose(), k.project_id.as_str()),
            ("hunter2", "p1")
        );
        assert!(c.lookup("nope").await.unwrap().is_none());
    }
}
