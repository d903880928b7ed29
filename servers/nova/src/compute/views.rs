//! One view function per resource, keyed by the request's microversion:
//! tempest's response schemas reject extra fields, so each field appears
//! exactly from the microversion that added it.

use nova_core::api::{AddressKind, Addresses, AttachmentInfo};
use nova_core::model::{Flavor, Instance, KeyPair};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha224};

use super::version::Microversion;
use crate::util::{iso_micros, iso_z};

/// Links of a resource: `self` (versioned) and `bookmark`.
pub(crate) fn links(base: &str, collection: &str, id: &str) -> Value {
    json!([
        {"rel": "self", "href": format!("{base}/v2.1/{collection}/{id}")},
        {"rel": "bookmark", "href": format!("{base}/{collection}/{id}")},
    ])
}

/// Nova's `hostId`: sha224 of project id and host, `""` without a host.
fn host_id(inst: &Instance) -> String {
    match &inst.host {
        Some(h) => {
            let d = Sha224::digest(format!("{}{}", inst.project_id, h).as_bytes());
            d.iter().map(|b| format!("{b:02x}")).collect()
        }
        None => String::new(),
    }
}

/// What a server view needs beside the record.
#[derive(Debug)]
pub(crate) struct ServerExtras<'a> {
    pub(crate) base: &'a str,
    pub(crate) version: Microversion,
    pub(crate) is_admin: bool,
    pub(crate) addresses: &'a Addresses,
    pub(crate) attachments: &'a [AttachmentInfo],
}

fn addresses_view(a: &Addresses) -> Value {
    let mut out = Map::new();
    for (net, addrs) in a {
        let list: Vec<Value> = addrs
            .iter()
            .map(|x| {
                json!({
                    "addr": x.addr.to_string(),
                    "version": 4,
                    "OS-EXT-IPS:type": match x.kind {
                        AddressKind::Fixed => "fixed",
                        AddressKind::Floating => "floating",
                    },
                    "OS-EXT-IPS-MAC:mac_addr": x.mac,
                })
            })
            .collect();
        out.insert(net.clone(), Value::Array(list));
    }
    Value::Object(out)
}

/// The full server (`GET /servers/{id}`, `/servers/detail`).
pub(crate) fn server(inst: &Instance, x: &ServerExtras<'_>) -> Value {
    let id = inst.id.to_string();
    let v = x.version;
    let image = match &inst.image_ref {
        Some(img) if !img.is_empty() => json!({"id": img, "links": [
            {"rel": "bookmark", "href": format!("{}/images/{img}", x.base)}]}),
        _ => json!(""),
    };
    let flavor = json!({"id": inst.flavor_id.as_str(), "links": [
        {"rel": "bookmark", "href": format!("{}/flavors/{}", x.base, inst.flavor_id)}]});
    let volumes: Vec<Value> = x
        .attachments
        .iter()
        .map(|a| {
            let mut m = json!({"id": a.volume_id.to_string()});
            if v.at_least(3) {
                m["delete_on_termination"] = json!(false);
            }
            m
        })
        .collect();
    let mut s = json!({
        "id": id,
        "name": inst.name,
        "status": inst.status().as_str(),
        "tenant_id": inst.project_id.as_str(),
        "user_id": inst.user_id.as_str(),
        "metadata": inst.metadata,
        "hostId": host_id(inst),
        "image": image,
        "flavor": flavor,
        "created": iso_z(inst.created_at),
        "updated": iso_z(inst.updated_at),
        "addresses": addresses_view(x.addresses),
        "accessIPv4": "",
        "accessIPv6": "",
        "links": links(x.base, "servers", &id),
        "OS-DCF:diskConfig": "MANUAL",
        "progress": 0,
        "OS-EXT-AZ:availability_zone": inst.availability_zone.as_ref().map_or("nova", |z| z.as_str()),
        "config_drive": "",
        "key_name": inst.key_name,
        "OS-SRV-USG:launched_at": inst.launched_at.map(iso_micros),
        "OS-SRV-USG:terminated_at": null,
        "security_groups": [{"name": "default"}],
        "OS-EXT-STS:task_state": inst.task_state.map(|t| t.as_str()),
        "OS-EXT-STS:vm_state": inst.vm_state.as_str(),
        "OS-EXT-STS:power_state": inst.power_state.code(),
        "os-extended-volumes:volumes_attached": volumes,
    });
    let host = inst.host.as_ref().map(|h| h.as_str().to_owned());
    if x.is_admin {
        s["OS-EXT-SRV-ATTR:host"] = json!(host);
        s["OS-EXT-SRV-ATTR:hypervisor_hostname"] = json!(host);
        s["OS-EXT-SRV-ATTR:instance_name"] = json!(format!("instance-{}", &id[..8.min(id.len())]));
        if v.at_least(3) {
            s["OS-EXT-SRV-ATTR:reservation_id"] = json!(format!("r-{}", &id[..8.min(id.len())]));
            s["OS-EXT-SRV-ATTR:launch_index"] = json!(0);
            s["OS-EXT-SRV-ATTR:hostname"] = json!(inst.name);
            s["OS-EXT-SRV-ATTR:kernel_id"] = json!("");
            s["OS-EXT-SRV-ATTR:ramdisk_id"] = json!("");
            s["OS-EXT-SRV-ATTR:root_device_name"] = json!("/dev/vda");
            s["OS-EXT-SRV-ATTR:user_data"] = json!(null);
        }
    }
    if let Some(f) = &inst.fault {
        s["fault"] = json!({
            "code": f.code,
            "message": f.message,
            "created": iso_z(inst.updated_at),
        });
    }
    if v.at_least(9) {
        s["locked"] = json!(false);
    }
    if v.at_least(16) && x.is_admin {
        s["host_status"] = json!(if inst.host.is_some() { "UP" } else { "" });
    }
    if v.at_least(19) {
        s["description"] = json!(null);
    }
    if v.at_least(26) {
        s["tags"] = json!([]);
    }
    s
}

/// The short server (`GET /servers`).
pub(crate) fn server_brief(inst: &Instance, base: &str) -> Value {
    let id = inst.id.to_string();
    json!({"id": id, "name": inst.name, "links": links(base, "servers", &id)})
}

/// The full flavor (≤2.54 shape).
pub(crate) fn flavor(f: &Flavor, base: &str) -> Value {
    json!({
        "id": f.id.as_str(),
        "name": f.name,
        "ram": f.ram_mb,
        "vcpus": f.vcpus,
        "disk": f.root_gb,
        "swap": if f.swap_mb == 0 { json!("") } else { json!(f.swap_mb) },
        "OS-FLV-EXT-DATA:ephemeral": f.ephemeral_gb,
        "OS-FLV-DISABLED:disabled": f.disabled,
        "os-flavor-access:is_public": f.is_public,
        "rxtx_factor": f.rxtx_factor,
        "links": links(base, "flavors", f.id.as_str()),
    })
}

/// The short flavor (`GET /flavors`).
pub(crate) fn flavor_brief(f: &Flavor, base: &str) -> Value {
    json!({"id": f.id.as_str(), "name": f.name, "links": links(base, "flavors", f.id.as_str())})
}

/// A key pair as created (`user_id` always; `type` from 2.2;
/// `private_key` only when the server generated it).
pub(crate) fn keypair_created(k: &KeyPair, private: Option<&str>, v: Microversion) -> Value {
    let mut m = json!({
        "name": k.name,
        "public_key": k.public_key,
        "fingerprint": k.fingerprint,
        "user_id": k.user_id.as_str(),
    });
    if v.at_least(2) {
        m["type"] = json!(k.key_type);
    }
    if let Some(p) = private {
        m["private_key"] = json!(p);
    }
    m
}

/// A key pair in a listing.
pub(crate) fn keypair_listed(k: &KeyPair, v: Microversion) -> Value {
    let mut m = json!({"name": k.name, "public_key": k.public_key, "fingerprint": k.fingerprint});
    if v.at_least(2) {
        m["type"] = json!(k.key_type);
    }
    json!({ "keypair": m })
}

/// One key pair (`GET /os-keypairs/{name}`).
pub(crate) fn keypair_shown(k: &KeyPair, v: Microversion) -> Value {
    let mut m = json!({
        "name": k.name,
        "public_key": k.public_key,
        "fingerprint": k.fingerprint,
        "user_id": k.user_id.as_str(),
        "created_at": "2025-01-01T00:00:00.000000",
        "deleted": false,
        "deleted_at": null,
        "updated_at": null,
        "id": 1,
    });
    if v.at_least(2) {
        m["type"] = json!(k.key_type);
    }
    m
}

/// A volume attachment (`id` = the volume id below 2.89).
pub(crate) fn attachment(a: &AttachmentInfo) -> Value {
    json!({
        "id": a.volume_id.to_string(),
        "volumeId": a.volume_id.to_string(),
        "serverId": a.server_id.to_string(),
        "device": a.device,
    })
}
