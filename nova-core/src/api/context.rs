//! Who is asking: the request context every [`super::ComputeApi`] call takes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{ProjectId, UserId};

/// The authenticated caller of an API call, passed on over the bus so the
/// services act (and reach Glance) with the caller's rights.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    /// The user.
    pub user_id: UserId,
    /// The project the token is scoped to.
    pub project_id: ProjectId,
    /// Role names on that project.
    pub roles: Vec<String>,
    /// Request id for logs (`req-<uuid>`).
    pub request_id: String,
    /// The caller's token, for services called on its behalf (Glance).
    /// Never shown by `Debug`.
    pub auth_token: Option<String>,
}

impl RequestContext {
    /// A context for `user` in `project` with `roles` and a fresh request id.
    pub fn new(user_id: UserId, project_id: ProjectId, roles: Vec<String>) -> Self {
        Self {
            user_id,
            project_id,
            roles,
            request_id: format!("req-{}", uuid::Uuid::new_v4()),
            auth_token: None,
        }
    }

    /// The same context carrying `token`.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.auth_token = Some(token.into());
        self
    }

    /// Whether the caller has the `admin` role.
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == "admin")
    }

    /// Whether the caller may see and act on what `project` owns.
    pub fn can_access(&self, project: &ProjectId) -> bool {
        self.is_admin() || &self.project_id == project
    }
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("user_id", &self.user_id)
            .field("project_id", &self.project_id)
            .field("roles", &self.roles)
            .field("request_id", &self.request_id)
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_token_and_admin_sees_all() {
        let ctx = RequestContext::new(
            UserId::new("u").unwrap(),
            ProjectId::new("p").unwrap(),
            vec!["member".into()],
        )
        .with_token("sekrit-token");
        assert!(!format!("{ctx:?}").contains("sekrit"));
        assert!(ctx.can_access(&ProjectId::new("p").unwrap()));
        assert!(!ctx.can_access(&ProjectId::new("q").unwrap()));
        let admin = RequestContext {
            roles: vec!["admin".into()],
            ..ctx
        };
        assert!(admin.can_access(&ProjectId::new("q").unwrap()));
    }
}
