//! Key pairs: OpenSSH public key validation and Nova's MD5 fingerprint.

use base64::Engine as _;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::ids::UserId;
use crate::error::{Error, Result};

/// Key types accepted in an OpenSSH public key line.
pub const KEY_TYPES: [&str; 6] = [
    "ssh-rsa",
    "ssh-dss",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
];

/// A user's key pair (only the public half is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPair {
    /// Name, unique per user.
    pub name: String,
    /// Owner.
    pub user_id: UserId,
    /// The OpenSSH public key line.
    pub public_key: String,
    /// Nova's fingerprint: MD5 of the key blob, colon-separated hex.
    pub fingerprint: String,
    /// `ssh` (the only type kept; `x509` is not supported).
    pub key_type: String,
}

impl KeyPair {
    /// Validates `name` and `public_key` and computes the fingerprint.
    pub fn new(name: impl Into<String>, user_id: UserId, public_key: &str) -> Result<Self> {
        let name = name.into();
        validate_name(&name)?;
        let parsed = parse_public_key(public_key)?;
        Ok(Self {
            name,
            user_id,
            public_key: public_key.trim().to_owned(),
            fingerprint: fingerprint_of_blob(&parsed.blob),
            key_type: "ssh".into(),
        })
    }
}

/// Nova's key pair name rule: 1 to 255 characters of ASCII letters,
/// digits, `-`, `_` and space, not starting or ending with a space.
pub fn validate_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 255 || name.trim() != name {
        return Err(Error::invalid(
            "Keypair name must be string and between 1 and 255 characters long",
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_ ".contains(&b))
    {
        return Err(Error::invalid("Keypair name contains unsafe characters"));
    }
    Ok(())
}

/// A parsed OpenSSH public key line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// The key type, e.g. `ssh-ed25519`.
    pub key_type: String,
    /// The decoded key blob.
    pub blob: Vec<u8>,
    /// The trailing comment, if any.
    pub comment: Option<String>,
}

/// Parses `type base64 [comment]`, checking that the blob is valid base64
/// and names the same key type inside.
pub fn parse_public_key(line: &str) -> Result<PublicKey> {
    let bad = |why: &str| Error::invalid(format!("Keypair data is invalid: {why}"));
    let mut parts = line.split_whitespace();
    let key_type = parts.next().ok_or_else(|| bad("empty public key"))?;
    if !KEY_TYPES.contains(&key_type) {
        return Err(bad("unknown key type"));
    }
    let b64 = parts.next().ok_or_else(|| bad("missing key data"))?;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| bad("key data is not base64"))?;
    let inner = read_ssh_string(&blob).ok_or_else(|| bad("truncated key blob"))?;
    if inner != key_type.as_bytes() {
        return Err(bad("key type does not match the key data"));
    }
    let comment: Vec<&str> = parts.collect();
    Ok(PublicKey {
        key_type: key_type.to_owned(),
        blob,
        comment: (!comment.is_empty()).then(|| comment.join(" ")),
    })
}

/// The first length-prefixed string of an SSH wire blob.
fn read_ssh_string(blob: &[u8]) -> Option<&[u8]> {
    let len_bytes: [u8; 4] = blob.get(..4)?.try_into().ok()?;
    let len = usize::try_from(u32::from_be_bytes(len_bytes)).ok()?;
    blob.get(4..4usize.checked_add(len)?)
}

/// MD5 of the blob as `aa:bb:…`, as Nova's `generate_fingerprint`.
pub fn fingerprint_of_blob(blob: &[u8]) -> String {
    let digest = Md5::digest(blob);
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real ed25519 public key; `ssh-keygen -l -E md5` printed [`ED25519_MD5`].
    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIABJPpdISiUqDl7dRddPiHyLbK1D41wnkvrykkPn4ak+ demo@host";
    const ED25519_MD5: &str = "40:fb:db:e7:f7:fb:7f:d1:ca:74:92:26:df:23:62:93";

    fn blob_for(key_type: &str, body: &[u8]) -> String {
        let mut b = (key_type.len() as u32).to_be_bytes().to_vec();
        b.extend_from_slice(key_type.as_bytes());
        b.extend_from_slice(body);
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    #[test]
    fn parses_a_real_key_and_fingerprints_its_blob() {
        let k = parse_public_key(ED25519).unwrap();
        assert_eq!(k.key_type, "ssh-ed25519");
        assert_eq!(k.comment.as_deref(), Some("demo@host"));
        assert_eq!(k.blob.len(), 51);
        let fp = fingerprint_of_blob(&k.blob);
        assert_eq!(fp, ED25519_MD5);
        let kp = KeyPair::new("k1", UserId::new("u").unwrap(), ED25519).unwrap();
        assert_eq!(kp.fingerprint, fp);
    }

    #[test]
    fn fingerprint_is_md5_of_blob() {
        // md5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(
            fingerprint_of_blob(b""),
            "d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e"
        );
    }

    #[test]
    fn rejects_bad_keys() {
        for bad in [
            "",
            "ssh-foo AAAA",
            "ssh-rsa",
            "ssh-rsa !!!notbase64",
            "ssh-rsa AAAA",
        ] {
            assert!(parse_public_key(bad).is_err(), "{bad:?}");
        }
        let mismatched = format!("ssh-rsa {}", blob_for("ssh-ed25519", b"xx"));
        assert!(parse_public_key(&mismatched).is_err());
        let ok = format!("ssh-rsa {}", blob_for("ssh-rsa", b"xx"));
        assert!(parse_public_key(&ok).is_ok());
    }

    #[test]
    fn names_follow_nova() {
        assert!(validate_name("my key_1-a").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name(" lead").is_err());
        assert!(validate_name("semi;colon").is_err());
        assert!(validate_name(&"k".repeat(256)).is_err());
    }
}
