//! Security groups: named sets of ingress rules owned by a project. Every
//! project has a `default` group, made on first use, which cannot be
//! deleted.

use serde::{Deserialize, Serialize};

use super::ids::ProjectId;
use super::network::Ipv4Cidr;
use crate::error::{Error, Result};

/// The name of the group every project has.
pub const DEFAULT_GROUP: &str = "default";

/// A security group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    /// Its id (a UUID).
    pub id: String,
    /// Owning project.
    pub project_id: ProjectId,
    /// Name, unique per project.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Ingress rules, in the order they were added.
    pub rules: Vec<SecurityGroupRule>,
}

impl SecurityGroup {
    /// A new group without rules; [`Error::InvalidInput`] for a bad name
    /// or description.
    pub fn new(project_id: ProjectId, name: &str, description: &str) -> Result<Self> {
        validate_text("name", name, false)?;
        validate_text("description", description, true)?;
        Ok(Self {
            id: uuid::Uuid::new_v4().to_string(),
            project_id,
            name: name.to_owned(),
            description: description.to_owned(),
            rules: Vec::new(),
        })
    }

    /// The rule equal to `rule` except for its id, if any.
    pub fn same_rule(&self, rule: &SecurityGroupRule) -> Option<&SecurityGroupRule> {
        self.rules.iter().find(|r| r.same_as(rule))
    }
}

/// Names and descriptions: at most 255 characters, no control characters,
/// not blank (names only).
fn validate_text(what: &str, s: &str, may_be_empty: bool) -> Result<()> {
    if (!may_be_empty && s.trim().is_empty()) || s.chars().count() > 255 {
        return Err(Error::invalid(format!(
            "Security group {what} must be between {} and 255 characters long",
            u8::from(!may_be_empty)
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "Security group {what} has control characters"
        )));
    }
    Ok(())
}

/// The IP protocol a rule opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpProtocol {
    /// TCP ports.
    Tcp,
    /// UDP ports.
    Udp,
    /// ICMP types and codes.
    Icmp,
}

impl IpProtocol {
    /// `tcp`, `udp` or `icmp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Icmp => "icmp",
        }
    }

    /// Parses a name (any case) or an IANA number (6, 17, 1).
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" | "6" => Ok(Self::Tcp),
            "udp" | "17" => Ok(Self::Udp),
            "icmp" | "1" => Ok(Self::Icmp),
            _ => Err(Error::invalid(format!(
                "Invalid IP protocol {s}: use tcp, udp or icmp"
            ))),
        }
    }
}

/// Where the traffic a rule admits may come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSource {
    /// Addresses in this range.
    Cidr(Ipv4Cidr),
    /// Members of this group (an id) of the same project.
    Group(String),
}

/// One ingress rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupRule {
    /// Its id (a UUID).
    pub id: String,
    /// Protocol.
    pub protocol: IpProtocol,
    /// First port (ICMP: type, -1 for all).
    pub from_port: i32,
    /// Last port (ICMP: code, -1 for all).
    pub to_port: i32,
    /// Allowed source.
    pub source: RuleSource,
}

impl SecurityGroupRule {
    /// A validated rule: TCP/UDP ports in 1..=65535 with `from <= to`;
    /// ICMP type and code in -1..=255.
    pub fn new(
        protocol: IpProtocol,
        from_port: i32,
        to_port: i32,
        source: RuleSource,
    ) -> Result<Self> {
        match protocol {
            IpProtocol::Tcp | IpProtocol::Udp => {
                if !(1..=65535).contains(&from_port)
                    || !(1..=65535).contains(&to_port)
                    || from_port > to_port
                {
                    return Err(Error::invalid(format!(
                        "Invalid port range {from_port}:{to_port}: ports must be in 1..65535 and from <= to"
                    )));
                }
            }
            IpProtocol::Icmp => {
                if !(-1..=255).contains(&from_port) || !(-1..=255).contains(&to_port) {
                    return Err(Error::invalid(format!(
                        "Invalid ICMP type/code {from_port}:{to_port}: must be in -1..255"
                    )));
                }
            }
        }
        Ok(Self {
            id: uuid::Uuid::new_v4().to_string(),
            protocol,
            from_port,
            to_port,
            source,
        })
    }

    /// Whether both rules admit the same traffic (ids aside).
    pub fn same_as(&self, other: &Self) -> bool {
        self.protocol == other.protocol
            && self.from_port == other.from_port
            && self.to_port == other.to_port
            && self.source == other.source
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cidr(s: &str) -> RuleSource {
        RuleSource::Cidr(s.parse().unwrap())
    }

    #[test]
    fn rules_are_validated() {
        assert!(SecurityGroupRule::new(IpProtocol::Tcp, 22, 22, cidr("0.0.0.0/0")).is_ok());
        assert!(SecurityGroupRule::new(IpProtocol::Tcp, 0, 22, cidr("0.0.0.0/0")).is_err());
        assert!(SecurityGroupRule::new(IpProtocol::Udp, 90, 80, cidr("0.0.0.0/0")).is_err());
        assert!(SecurityGroupRule::new(IpProtocol::Tcp, 1, 65536, cidr("0.0.0.0/0")).is_err());
        assert!(SecurityGroupRule::new(IpProtocol::Icmp, -1, -1, cidr("10.0.0.0/8")).is_ok());
        assert!(SecurityGroupRule::new(IpProtocol::Icmp, 256, 0, cidr("10.0.0.0/8")).is_err());
        assert_eq!(IpProtocol::parse("TCP").unwrap(), IpProtocol::Tcp);
        assert_eq!(IpProtocol::parse("17").unwrap(), IpProtocol::Udp);
        assert!(IpProtocol::parse("gre").is_err());
    }

    #[test]
    fn groups_validate_names_and_compare_rules() {
        let p = ProjectId::new("p").unwrap();
        assert!(SecurityGroup::new(p.clone(), " ", "d").is_err());
        assert!(SecurityGroup::new(p.clone(), &"x".repeat(256), "d").is_err());
        assert!(SecurityGroup::new(p.clone(), "web", "a\u{7}b").is_err());
        let mut g = SecurityGroup::new(p, "web", "").unwrap();
        let r = SecurityGroupRule::new(IpProtocol::Tcp, 80, 80, cidr("0.0.0.0/0")).unwrap();
        g.rules.push(r.clone());
        let again = SecurityGroupRule::new(IpProtocol::Tcp, 80, 80, cidr("0.0.0.0/0")).unwrap();
        assert_ne!(again.id, r.id);
        assert_eq!(g.same_rule(&again).map(|x| &x.id), Some(&r.id));
        let other = SecurityGroupRule::new(IpProtocol::Tcp, 443, 443, cidr("0.0.0.0/0")).unwrap();
        assert!(g.same_rule(&other).is_none());
    }
}
