//! Keystone v3 JSON views of core types.

use identity_core::model::{DomainSummary, RoleAssignment};
use identity_core::service::{NamedAssignment, NamedTarget};
use identity_core::{
    AssignmentTarget, Catalog, Domain, Ec2Credential, Project, Role, Token, TokenScope, User,
};
use serde_json::{json, Value};

fn domain(d: &DomainSummary) -> Value {
    json!({"id": d.id.as_str(), "name": d.name})
}

/// The `{"token": …}` body; the catalog is left out when `None`.
pub fn token(t: &Token, catalog: Option<&Catalog>) -> Value {
    let mut body = json!({
        "methods": t.methods.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        "user": {
            "id": t.user.id.as_str(),
            "name": t.user.name,
            "domain": domain(&t.user.domain),
            "password_expires_at": null,
        },
        "audit_ids": t.audit_ids,
        "expires_at": t.expires_at.to_iso8601(),
        "issued_at": t.issued_at.to_iso8601(),
        "is_domain": false,
    });
    let scoped = match &t.scope {
        TokenScope::Unscoped => false,
        TokenScope::Project(p) => {
            body["project"] =
                json!({"id": p.id.as_str(), "name": p.name, "domain": domain(&p.domain)});
            true
        }
        TokenScope::Domain(d) => {
            body["domain"] = domain(d);
            true
        }
    };
    if scoped {
        body["roles"] = t
            .roles
            .iter()
            .map(|r| json!({"id": r.id.as_str(), "name": r.name}))
            .collect();
        if let Some(c) = catalog {
            body["catalog"] = json!(c.services);
        }
    }
    json!({ "token": body })
}

/// Collection links without paging.
pub fn collection_links(self_url: &str) -> Value {
    json!({"self": self_url, "next": null, "previous": null})
}

/// A project as `GET /v3/projects/{id}` shows it.
pub fn project(p: &Project, base: &str) -> Value {
    json!({
        "id": p.id.as_str(),
        "name": p.name,
        "domain_id": p.domain_id.as_str(),
        "description": p.description,
        "enabled": p.enabled,
        "is_domain": false,
        "parent_id": p.domain_id.as_str(),
        "tags": [],
        "options": {},
        "links": {"self": format!("{base}/v3/projects/{}", p.id)},
    })
}

/// A domain as `GET /v3/domains/{id}` shows it.
pub fn domain_view(d: &Domain, base: &str) -> Value {
    json!({
        "id": d.id.as_str(),
        "name": d.name,
        "description": d.description,
        "enabled": d.enabled,
        "tags": [],
        "options": {},
        "links": {"self": format!("{base}/v3/domains/{}", d.id)},
    })
}

/// A role as `GET /v3/roles/{id}` shows it (global roles only).
pub fn role(r: &Role, base: &str) -> Value {
    json!({
        "id": r.id.as_str(),
        "name": r.name,
        "domain_id": null,
        "description": r.description,
        "options": {},
        "links": {"self": format!("{base}/v3/roles/{}", r.id)},
    })
}

/// The URL of the grant behind an assignment.
fn assignment_link(a: &RoleAssignment, base: &str) -> String {
    let target = match &a.target {
        AssignmentTarget::Project(p) => format!("projects/{p}"),
        AssignmentTarget::Domain(d) => format!("domains/{d}"),
    };
    format!("{base}/v3/{target}/users/{}/roles/{}", a.user_id, a.role_id)
}

/// An entry of `GET /v3/role_assignments`, ids only.
pub fn assignment(a: &RoleAssignment, base: &str) -> Value {
    let scope = match &a.target {
        AssignmentTarget::Project(p) => json!({"project": {"id": p.as_str()}}),
        AssignmentTarget::Domain(d) => json!({"domain": {"id": d.as_str()}}),
    };
    json!({
        "scope": scope,
        "user": {"id": a.user_id.as_str()},
        "role": {"id": a.role_id.as_str()},
        "links": {"assignment": assignment_link(a, base)},
    })
}

/// An entry of `GET /v3/role_assignments?include_names`.
pub fn named_assignment(n: &NamedAssignment, base: &str) -> Value {
    let scope = match &n.target {
        NamedTarget::Project(p) => json!({"project": {
            "id": p.id.as_str(), "name": p.name, "domain": domain(&p.domain),
        }}),
        NamedTarget::Domain(d) => json!({"domain": domain(d)}),
    };
    json!({
        "scope": scope,
        "user": {"id": n.user.id.as_str(), "name": n.user.name, "domain": domain(&n.user.domain)},
        "role": {"id": n.role.id.as_str(), "name": n.role.name},
        "links": {"assignment": assignment_link(&n.assignment, base)},
    })
}

/// A user as `GET /v3/users/{id}` shows it (`default_project_id` only when set).
pub fn user(u: &User, base: &str) -> Value {
    let mut v = json!({
        "id": u.id.as_str(),
        "name": u.name,
        "domain_id": u.domain_id.as_str(),
        "enabled": u.enabled,
        "password_expires_at": null,
        "options": {},
        "links": {"self": format!("{base}/v3/users/{}", u.id)},
    });
    if let Some(p) = &u.default_project_id {
        v["default_project_id"] = json!(p.as_str());
    }
    v
}

/// An EC2 credential, secret included (only ever shown to its owner or admin).
pub fn ec2_credential(c: &Ec2Credential, base: &str) -> Value {
    json!({
        "user_id": c.user_id.as_str(),
        "tenant_id": c.project_id.as_str(),
        "access": c.access,
        "secret": c.secret.expose(),
        "trust_id": null,
        "links": {"self": format!(
            "{base}/v3/users/{}/credentials/OS-EC2/{}", c.user_id, c.access
        )},
    })
}

/// The v3 version entry for discovery.
pub fn version(base: &str) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{base}/v3/")}],
        "media-types": [{
            "base": "application/json",
            "type": "application/vnd.openstack.identity-v3+json",
        }],
    })
}
