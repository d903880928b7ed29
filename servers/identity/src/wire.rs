//! `POST /v3/auth/tokens` request bodies, parsed into core requests.

use identity_core::service::{
    AuthIdentity, AuthRequest, DomainSelector, ProjectSelector, ScopeRequest, UserSelector,
};
use identity_core::{DomainId, Password, ProjectId, TokenId, UserId};
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;

#[derive(Debug, Deserialize)]
struct Body {
    auth: Auth,
}

#[derive(Debug, Deserialize)]
struct Auth {
    identity: Identity,
    #[serde(default)]
    scope: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Identity {
    methods: Vec<String>,
    #[serde(default)]
    password: Option<PasswordMethod>,
    #[serde(default)]
    token: Option<TokenMethod>,
}

#[derive(Debug, Deserialize)]
struct PasswordMethod {
    user: WireUser,
}

#[derive(Debug, Deserialize)]
struct WireUser {
    id: Option<String>,
    name: Option<String>,
    domain: Option<WireDomain>,
    password: Password,
}

#[derive(Debug, Deserialize)]
struct TokenMethod {
    id: String,
}

#[derive(Debug, Deserialize)]
struct WireDomain {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireProject {
    id: Option<String>,
    name: Option<String>,
    domain: Option<WireDomain>,
}

#[derive(Debug, Deserialize)]
struct WireScope {
    project: Option<WireProject>,
    domain: Option<WireDomain>,
    system: Option<Value>,
}

fn bad(m: impl Into<String>) -> ApiError {
    ApiError::BadRequest(m.into())
}

fn domain_selector(d: Option<WireDomain>, what: &str) -> Result<DomainSelector, ApiError> {
    match d {
        Some(WireDomain { id: Some(id), .. }) => {
            Ok(DomainSelector::Id(DomainId::new(id).map_err(|_| {
                ApiError::Unauthorized("bad domain id".into())
            })?))
        }
        Some(WireDomain { name: Some(n), .. }) => Ok(DomainSelector::Name(n)),
        _ => Err(bad(format!("{what} name requires a domain id or name"))),
    }
}

fn scope(v: Option<Value>) -> Result<ScopeRequest, ApiError> {
    let v = match v {
        None | Some(Value::Null) => return Ok(ScopeRequest::Unscoped),
        Some(Value::String(s)) if s == "unscoped" => return Ok(ScopeRequest::Unscoped),
        Some(v) => v,
    };
    let s: WireScope = serde_json::from_value(v).map_err(|e| bad(format!("invalid scope: {e}")))?;
    if let Some(p) = s.project {
        let sel = match p {
            WireProject { id: Some(id), .. } => ProjectSelector::Id(
                ProjectId::new(id).map_err(|_| ApiError::Unauthorized("bad project id".into()))?,
            ),
            WireProject {
                name: Some(name),
                domain,
                ..
            } => ProjectSelector::Name {
                name,
                domain: domain_selector(domain, "project")?,
            },
            _ => return Err(bad("project scope requires an id or a name")),
        };
        return Ok(ScopeRequest::Project(sel));
    }
    if let Some(d) = s.domain {
        return Ok(ScopeRequest::Domain(domain_selector(Some(d), "domain")?));
    }
    if s.system.is_some() {
        return Err(bad("system scope is not supported"));
    }
    Err(bad("scope must name a project or a domain"))
}

/// Parses a `POST /v3/auth/tokens` body; malformed ones are 400.
pub(crate) fn auth_request(bytes: &[u8]) -> Result<AuthRequest, ApiError> {
    let body: Body =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("invalid auth request: {e}")))?;
    let Body { auth } = body;
    let methods = auth.identity.methods;
    let identity = if methods.iter().any(|m| m == "password") {
        let u = auth
            .identity
            .password
            .ok_or_else(|| bad("the password method needs identity.password"))?
            .user;
        let user = match (u.id, u.name) {
            (Some(id), _) => UserSelector::Id(
                UserId::new(id).map_err(|_| ApiError::Unauthorized("bad user id".into()))?,
            ),
            (None, Some(name)) => UserSelector::Name {
                name,
                domain: domain_selector(u.domain, "user")?,
            },
            (None, None) => return Err(bad("user requires an id or a name")),
        };
        AuthIdentity::Password {
            user,
            password: u.password,
        }
    } else if methods.iter().any(|m| m == "token") {
        let t = auth
            .identity
            .token
            .ok_or_else(|| bad("the token method needs identity.token"))?;
        AuthIdentity::Token(
            TokenId::new(t.id).map_err(|_| ApiError::Unauthorized("bad token id".into()))?,
        )
    } else {
        return Err(ApiError::Unauthorized("unsupported auth methods".into()));
    };
    Ok(AuthRequest {
        identity,
        scope: scope(auth.scope)?,
    })
}
