//! Password hashing with argon2id.

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Password, PasswordHash};

/// Cost of new password hashes (existing hashes carry their own cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordHashing {
    /// Memory in KiB (default 19456, OWASP's argon2id minimum).
    #[serde(default = "default_memory_kib")]
    pub memory_kib: u32,
    /// Passes over memory (default 2).
    #[serde(default = "default_iterations")]
    pub iterations: u32,
    /// Lanes (default 1).
    #[serde(default = "default_parallelism")]
    pub parallelism: u32,
}

fn default_memory_kib() -> u32 {
    19_456
}
fn default_iterations() -> u32 {
    2
}
fn default_parallelism() -> u32 {
    1
}

impl Default for PasswordHashing {
    fn default() -> Self {
        Self {
            memory_kib: default_memory_kib(),
            iterations: default_iterations(),
            parallelism: default_parallelism(),
        }
    }
}

impl PasswordHashing {
    /// The cheapest argon2 settings: for tests only, never for real passwords.
    pub fn insecure_fast() -> Self {
        Self {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        }
    }

    /// `Error::InvalidConfig` when argon2 rejects the parameters.
    pub fn validate(&self) -> Result<()> {
        self.params().map(|_| ())
    }

    fn params(&self) -> Result<Params> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| Error::config(format!("password hashing: {e}")))
    }
}

/// Hashes `password` with a fresh random salt; CPU-heavy, call off the runtime.
pub(crate) fn hash(cost: &PasswordHashing, password: &Password) -> Result<PasswordHash> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, cost.params()?);
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Backend {
        backend: "argon2",
        source: e.to_string().into(),
    })?;
    let phc = argon
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|e| Error::Backend {
            backend: "argon2",
            source: e.to_string().into(),
        })?;
    Ok(PasswordHash::from_phc(phc.to_string()))
}

/// Whether `password` matches `hash`; the comparison is the crate's
/// constant-time one. An unparsable hash never matches.
pub(crate) fn verify(hash: &PasswordHash, password: &Password) -> bool {
    match argon2::password_hash::PasswordHash::new(hash.as_phc()) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let pw = Password::new("s3cret");
        let h = hash(&PasswordHashing::insecure_fast(), &pw).unwrap();
        assert!(h.as_phc().starts_with("$argon2id$"));
        assert!(verify(&h, &pw));
        assert!(!verify(&h, &Password::new("s3cret ")));
        assert!(!verify(&PasswordHash::from_phc("garbage"), &pw));
        let h2 = hash(&PasswordHashing::insecure_fast(), &pw).unwrap();
        assert_ne!(h, h2, "salted");
    }

    #[test]
    fn bad_cost_is_invalid_config() {
        let bad = PasswordHashing {
            memory_kib: 1,
            ..PasswordHashing::default()
        };
        assert!(matches!(bad.validate(), Err(Error::InvalidConfig { .. })));
        assert!(PasswordHashing::default().validate().is_ok());
    }
}
