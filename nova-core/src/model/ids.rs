//! Validated identifiers of the compute model.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

macro_rules! uuid_id {
    ($(#[$m:meta])* $name:ident, $kind:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random id.
            pub fn new_v4() -> Self {
                Self(Uuid::new_v4())
            }

            /// The UUID inside.
            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self> {
                Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| Error::invalid(format!("{} id {s:?} is not a uuid", $kind)))
            }
        }
    };
}

uuid_id!(
    /// An instance (server) id: a UUID.
    InstanceId,
    "instance"
);
uuid_id!(
    /// A volume id: a UUID.
    VolumeId,
    "volume"
);
uuid_id!(
    /// A network id: a UUID.
    NetworkId,
    "network"
);
uuid_id!(
    /// A floating IP id: a UUID.
    FloatingIpId,
    "floating ip"
);

/// Checks a name: 1 to `max` bytes of ASCII letters, digits and `extra`.
fn check_name(kind: &str, s: &str, max: usize, extra: &[u8]) -> Result<()> {
    if s.is_empty() || s.len() > max {
        return Err(Error::invalid(format!(
            "{kind} must be 1 to {max} characters"
        )));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    {
        return Err(Error::invalid(format!(
            "{kind} {s:?} holds a forbidden character"
        )));
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$m:meta])* $name:ident, $kind:literal, $max:expr, $extra:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `s`.
            pub fn new(s: impl Into<String>) -> Result<Self> {
                let s = s.into();
                check_name($kind, &s, $max, $extra)?;
                Ok(Self(s))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;

            fn try_from(s: String) -> Result<Self> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

string_id!(
    /// A Keystone project id (the tenant owning instances, volumes, IPs).
    ProjectId,
    "project id",
    64,
    b"-_."
);
string_id!(
    /// A Keystone user id.
    UserId,
    "user id",
    64,
    b"-_."
);
string_id!(
    /// A compute host name, as used in `compute.<host>` topics.
    HostName,
    "host name",
    255,
    b"-_."
);
string_id!(
    /// A flavor id: Nova's are short integers as text or UUIDs.
    FlavorId,
    "flavor id",
    255,
    b"-_."
);
string_id!(
    /// An availability zone name (default `nova`).
    ZoneName,
    "availability zone",
    255,
    b"-_.:"
);

impl ZoneName {
    /// Nova's default zone, `nova`.
    pub fn default_zone() -> Self {
        Self("nova".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_ids_parse_and_display() {
        let id = InstanceId::new_v4();
        assert_eq!(id.to_string().parse::<InstanceId>().unwrap(), id);
        assert!("nope".parse::<VolumeId>().is_err());
    }

    #[test]
    fn string_ids_are_validated() {
        assert!(HostName::new("compute-1.example").is_ok());
        assert!(HostName::new("").is_err());
        assert!(HostName::new("a b").is_err());
        assert!(ProjectId::new("x".repeat(65)).is_err());
        let json = serde_json::to_string(&ProjectId::new("p1").unwrap()).unwrap();
        assert_eq!(json, "\"p1\"");
        assert!(serde_json::from_str::<ProjectId>("\"bad id\"").is_err());
    }
}
