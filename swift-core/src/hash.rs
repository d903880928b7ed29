//! Path hashing: where Swift puts an account, container or object.

use std::fmt;

use md5::{Digest, Md5};

/// The per-cluster secret prefix and suffix mixed into every path hash
/// (`swift_hash_path_prefix` / `swift_hash_path_suffix`). Both are secrets:
/// knowing them lets a client aim objects at one partition.
#[derive(Clone, PartialEq, Eq)]
pub struct HashConfig {
    prefix: String,
    suffix: String,
}

impl fmt::Debug for HashConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashConfig")
            .field("prefix", &"<redacted>")
            .field("suffix", &"<redacted>")
            .finish()
    }
}

impl HashConfig {
    /// A hash configuration from the cluster's prefix and suffix.
    pub fn new(prefix: impl Into<String>, suffix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            suffix: suffix.into(),
        }
    }

    /// MD5 of `prefix + "/" + account[/container[/object]] + suffix`, as Swift
    /// computes it. The hash picks the partition and names the object's
    /// directory on disk.
    pub fn hash_path(
        &self,
        account: &str,
        container: Option<&str>,
        object: Option<&str>,
    ) -> PathHash {
        let mut h = Md5::new();
        h.update(self.prefix.as_bytes());
        h.update(b"/");
        h.update(account.as_bytes());
        if let Some(c) = container {
            h.update(b"/");
            h.update(c.as_bytes());
            if let Some(o) = object {
                h.update(b"/");
                h.update(o.as_bytes());
            }
        }
        h.update(self.suffix.as_bytes());
        PathHash(h.finalize().into())
    }
}

/// The 16-byte MD5 of a path.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PathHash(pub [u8; 16]);

impl PathHash {
    /// Lowercase hex, 32 characters: the directory name on disk.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 32 hex characters.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 16];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }

    /// The partition for a ring of `part_power` (the top bits of the hash).
    pub fn partition(&self, part_power: u8) -> u32 {
        let top = u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]]);
        if part_power == 0 {
            0
        } else {
            top >> (32 - u32::from(part_power))
        }
    }

    /// The suffix directory: the last three hex characters.
    pub fn suffix(&self) -> String {
        let hex = self.to_hex();
        hex[29..].to_string()
    }
}

impl fmt::Debug for PathHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathHash({})", self.to_hex())
    }
}

impl fmt::Display for PathHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_swift_hash_path() {
        // md5("/a/c/o") with empty prefix and suffix.
        let h = HashConfig::new("", "").hash_path("a", Some("c"), Some("o"));
        let expect = hex::encode(Md5::digest(b"/a/c/o"));
        assert_eq!(h.to_hex(), expect);
        let h2 = HashConfig::new("p", "s").hash_path("a", Some("c"), Some("o"));
        assert_eq!(h2.to_hex(), hex::encode(Md5::digest(b"p/a/c/os")));
    }

    #[test]
    fn partition_takes_top_bits() {
        let h = PathHash([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab]);
        assert_eq!(h.partition(8), 255);
        assert_eq!(h.partition(1), 1);
        assert_eq!(h.partition(0), 0);
        assert_eq!(h.suffix(), "0ab");
    }

    #[test]
    fn debug_hides_secrets() {
        let c = HashConfig::new("topsecret", "alsosecret");
        let d = format!("{c:?}");
        assert!(!d.contains("topsecret") && !d.contains("alsosecret"));
    }
}
