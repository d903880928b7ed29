//! Create/Import/Delete/DescribeKeyPairs over the caller's key pairs.

use base64::Engine as _;
use nova_core::model::KeyPair;

use super::error::{Ec2Error, Ec2Result};
use super::xml::Xml;
use super::{returns_true, Call};

fn key_error(e: nova_core::Error) -> Ec2Error {
    Ec2Error::from(e)
        .not_found_as("InvalidKeyPair.NotFound")
        .duplicate_as("InvalidKeyPair.Duplicate")
        .conflict_as("InvalidKeyPair.Duplicate")
}

/// An id for `keyPairId`: `key-` and 17 hex digits of the fingerprint.
fn key_pair_id(k: &KeyPair) -> String {
    let hex: String = k
        .fingerprint
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(17)
        .collect();
    format!("key-{hex}")
}

fn write_key(x: &mut Xml, k: &KeyPair) {
    x.leaf("keyName", &k.name)
        .leaf("keyFingerprint", &k.fingerprint)
        .leaf("keyPairId", key_pair_id(k));
}

pub(crate) async fn create(c: &Call<'_>) -> Ec2Result<String> {
    let name = c.params.required("KeyName")?;
    if let Some(t) = c
        .params
        .get("KeyType")
        .filter(|t| *t != "ed25519" && *t != "rsa")
    {
        return Err(Ec2Error::invalid("KeyType", t));
    }
    let (key, private) = c
        .api
        .create_key_pair(&c.ctx, name, None)
        .await
        .map_err(key_error)?;
    let mut x = Xml::new();
    write_key(&mut x, &key);
    x.leaf("keyMaterial", private.unwrap_or_default());
    Ok(x.into_inner())
}

pub(crate) async fn import(c: &Call<'_>) -> Ec2Result<String> {
    let name = c.params.required("KeyName")?;
    let material = c.params.required("PublicKeyMaterial")?;
    // boto3 base64-encodes the key; older tools send it as is.
    let public = base64::engine::general_purpose::STANDARD
        .decode(material.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| material.to_owned());
    let (key, _) = c
        .api
        .create_key_pair(&c.ctx, name, Some(&public))
        .await
        .map_err(|e| key_error(e).not_found_as("InvalidKey.Format"))?;
    let mut x = Xml::new();
    write_key(&mut x, &key);
    Ok(x.into_inner())
}

pub(crate) async fn delete(c: &Call<'_>) -> Ec2Result<String> {
    let name = c.params.required("KeyName")?;
    // Like AWS, deleting a key pair that does not exist succeeds.
    match c.api.delete_key_pair(&c.ctx, name).await {
        Ok(()) | Err(nova_core::Error::NotFound { .. }) => Ok(returns_true()),
        Err(e) => Err(key_error(e)),
    }
}

pub(crate) async fn describe(c: &Call<'_>) -> Ec2Result<String> {
    let names = c.params.list("KeyName");
    let all = c.api.list_key_pairs(&c.ctx).await.map_err(key_error)?;
    let keys: Vec<&KeyPair> = if names.is_empty() {
        all.iter().collect()
    } else {
        let mut out = Vec::new();
        for n in &names {
            let k = all.iter().find(|k| &k.name == n).ok_or_else(|| {
                Ec2Error::client(
                    "InvalidKeyPair.NotFound",
                    format!("The key pair '{n}' does not exist"),
                )
            })?;
            out.push(k);
        }
        out
    };
    let filters = c.params.filters_of(&["key-name", "fingerprint"])?;
    let keys = super::parse::apply_filters(keys, &filters, |k, name| match name {
        "key-name" => Some(vec![k.name.clone()]),
        "fingerprint" => Some(vec![k.fingerprint.clone()]),
        _ => None,
    })?;
    let mut x = Xml::new();
    x.list("keySet", keys, write_key);
    Ok(x.into_inner())
}
