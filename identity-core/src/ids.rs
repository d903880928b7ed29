//! Validated identifiers.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Longest id accepted (Keystone ids are 32 or 64 characters).
pub const MAX_ID_LEN: usize = 64;

fn check_id(kind: &str, s: &str) -> Result<()> {
    if s.is_empty() || s.len() > MAX_ID_LEN {
        return Err(Error::invalid(format!(
            "{kind} id must be 1 to {MAX_ID_LEN} characters"
        )));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(Error::invalid(format!(
            "{kind} id {s:?} may only hold ASCII letters, digits, '-', '_' and '.'"
        )));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident, $kind:literal) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `s`: 1 to 64 ASCII letters, digits, `-`, `_` or `.`.
            pub fn new(s: impl Into<String>) -> Result<Self> {
                let s = s.into();
                check_id($kind, &s)?;
                Ok(Self(s))
            }

            /// A fresh random id (a UUID in simple form, as Keystone makes).
            pub fn generate() -> Self {
                Self(uuid::Uuid::new_v4().simple().to_string())
            }

            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
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

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// Id of a [`Domain`](crate::model::Domain).
    DomainId,
    "domain"
);
id_type!(
    /// Id of a [`Project`](crate::model::Project).
    ProjectId,
    "project"
);
id_type!(
    /// Id of a [`User`](crate::model::User).
    UserId,
    "user"
);
id_type!(
    /// Id of a [`Role`](crate::model::Role).
    RoleId,
    "role"
);

impl DomainId {
    /// The id of the domain every deployment has: `default`.
    pub fn default_domain() -> Self {
        Self(crate::model::DEFAULT_DOMAIN_ID.to_owned())
    }
}

/// A token id: the bearer secret itself, so its `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenId(String);

impl TokenId {
    /// Wraps a token string as sent by a client; rejects empty or oversized ones.
    pub fn new(s: impl Into<String>) -> Result<Self> {
        let s = s.into();
        if s.is_empty() || s.len() > 1024 {
            return Err(Error::invalid("token id must be 1 to 1024 characters"));
        }
        Ok(Self(s))
    }

    /// A fresh token id: 32 random bytes, URL-safe base64 without padding.
    pub fn generate() -> Self {
        use base64::Engine as _;
        use rand::RngCore as _;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The token string, e.g. for the `X-Subject-Token` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenId(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_validate() {
        assert!(UserId::new("abc-123_x.y").is_ok());
        assert!(UserId::new("").is_err());
        assert!(UserId::new("a/b").is_err());
        assert!(UserId::new("x".repeat(65)).is_err());
        assert_eq!(UserId::generate().as_str().len(), 32);
        let bad: std::result::Result<UserId, _> = serde_json::from_str("\"a b\"");
        assert!(bad.is_err());
    }

    #[test]
    fn token_ids_are_random_urlsafe_and_hidden() {
        let a = TokenId::generate();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a, TokenId::generate());
        assert!(a
            .expose()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert!(!format!("{a:?}").contains(a.expose()));
    }
}
