//! The service catalog returned with scoped tokens.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::ProjectId;

/// Placeholder in endpoint URLs replaced by the token's project id, as in
/// Keystone's templated catalogs (`http://host:8080/v1/AUTH_$(project_id)s`).
pub const PROJECT_ID_PLACEHOLDER: &str = "$(project_id)s";

/// Which network an endpoint is meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    /// For end users (what clients use by default).
    Public,
    /// For other services on the internal network.
    Internal,
    /// For operators.
    Admin,
}

impl Interface {
    /// The wire name: `public`, `internal` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
            Self::Admin => "admin",
        }
    }
}

/// One URL of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Stable id derived from service type, name, interface and region.
    pub id: String,
    /// Which network it is for.
    pub interface: Interface,
    /// Region name (tempest reads this).
    pub region: String,
    /// Region id (keystoneauth prefers this).
    pub region_id: String,
    /// The URL, possibly holding [`PROJECT_ID_PLACEHOLDER`].
    pub url: String,
}

/// One service of the catalog, e.g. `image` / `glance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogService {
    /// Stable id derived from type and name.
    pub id: String,
    /// Service type clients look up, e.g. `identity`, `object-store`.
    #[serde(rename = "type")]
    pub service_type: String,
    /// Service name, e.g. `keystone`.
    pub name: String,
    /// Its endpoints.
    pub endpoints: Vec<Endpoint>,
}

/// The service catalog, built by the caller: each server registers its
/// endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// The services, in registration order.
    pub services: Vec<CatalogService>,
}

fn stable_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..16])
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an endpoint of service `service_type`/`name` in `region`,
    /// creating the service entry on first use. A second registration of the
    /// same service, interface and region replaces the URL.
    pub fn register(
        &mut self,
        service_type: &str,
        name: &str,
        interface: Interface,
        region: &str,
        url: impl Into<String>,
    ) -> &mut Self {
        let idx = match self
            .services
            .iter()
            .position(|s| s.service_type == service_type && s.name == name)
        {
            Some(i) => i,
            None => {
                self.services.push(CatalogService {
                    id: stable_id(&[service_type, name]),
                    service_type: service_type.to_owned(),
                    name: name.to_owned(),
                    endpoints: Vec::new(),
                });
                self.services.len() - 1
            }
        };
        let svc = &mut self.services[idx];
        let ep = Endpoint {
            id: stable_id(&[service_type, name, interface.as_str(), region]),
            interface,
            region: region.to_owned(),
            region_id: region.to_owned(),
            url: url.into(),
        };
        match svc
            .endpoints
            .iter_mut()
            .find(|e| e.interface == interface && e.region == region)
        {
            Some(e) => *e = ep,
            None => svc.endpoints.push(ep),
        }
        self
    }

    /// Registers the same URL for the public, internal and admin interfaces.
    pub fn register_all(
        &mut self,
        service_type: &str,
        name: &str,
        region: &str,
        url: &str,
    ) -> &mut Self {
        for i in [Interface::Public, Interface::Internal, Interface::Admin] {
            self.register(service_type, name, i, region, url);
        }
        self
    }

    /// The catalog as seen by a token scoped to `project`: the placeholder is
    /// replaced by the project id; without a project, templated endpoints are
    /// left out, and services left with no endpoint are dropped.
    pub fn for_project(&self, project: Option<&ProjectId>) -> Catalog {
        let services = self
            .services
            .iter()
            .filter_map(|s| {
                let endpoints: Vec<Endpoint> = s
                    .endpoints
                    .iter()
                    .filter_map(
                        |e| match (e.url.contains(PROJECT_ID_PLACEHOLDER), project) {
                            (false, _) => Some(e.clone()),
                            (true, Some(p)) => Some(Endpoint {
                                url: e.url.replace(PROJECT_ID_PLACEHOLDER, p.as_str()),
                                ..e.clone()
                            }),
                            (true, None) => None,
                        },
                    )
                    .collect();
                (!endpoints.is_empty()).then(|| CatalogService {
                    endpoints,
                    ..s.clone()
                })
            })
            .collect();
        Catalog { services }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templated_urls_are_filled_per_project() {
        let mut c = Catalog::new();
        c.register_all("identity", "keystone", "RegionOne", "http://h:5000/v3")
            .register(
                "object-store",
                "swift",
                Interface::Public,
                "RegionOne",
                "http://h:8080/v1/AUTH_$(project_id)s",
            );
        assert_eq!(c.services[0].endpoints.len(), 3);
        let p = ProjectId::new("p1").unwrap();
        let scoped = c.for_project(Some(&p));
        assert_eq!(
            scoped.services[1].endpoints[0].url,
            "http://h:8080/v1/AUTH_p1"
        );
        assert_eq!(c.for_project(None).services.len(), 1);
        let json = serde_json::to_value(&scoped.services[1]).unwrap();
        assert_eq!(json["type"], "object-store");
        assert_eq!(json["endpoints"][0]["interface"], "public");
        assert_eq!(json["endpoints"][0]["region_id"], "RegionOne");
    }
}
