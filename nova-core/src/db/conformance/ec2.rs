//! Security groups and the EC2 id map.

use std::collections::BTreeSet;

use super::{project, vm};
use crate::db::NovaDb;
use crate::error::Error;
use crate::model::{Ec2Kind, IpProtocol, RuleSource, SecurityGroup, SecurityGroupRule, EC2_KINDS};

fn rule(port: i32) -> SecurityGroupRule {
    let src = RuleSource::Cidr("0.0.0.0/0".parse().unwrap());
    SecurityGroupRule::new(IpProtocol::Tcp, port, port, src).unwrap()
}

/// Groups are unique per project by name, carry rules (no duplicates) and
/// cannot be deleted while an instance is a member.
pub async fn security_groups_lifecycle(db: &dyn NovaDb) {
    let (p, q) = (project(), project());
    let web = SecurityGroup::new(p.clone(), "web", "web servers").unwrap();
    db.create_security_group(&web).await.unwrap();
    let dup = SecurityGroup::new(p.clone(), "web", "again").unwrap();
    let e = db.create_security_group(&dup).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
    // Another project may use the name.
    let other = SecurityGroup::new(q.clone(), "web", "theirs").unwrap();
    db.create_security_group(&other).await.unwrap();
    let db_group = SecurityGroup::new(p.clone(), "db", "").unwrap();
    db.create_security_group(&db_group).await.unwrap();

    let names: Vec<String> = db
        .list_security_groups(Some(&p))
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["db", "web"]);
    let all = db.list_security_groups(None).await.unwrap();
    assert!(all.iter().any(|g| g.id == other.id) && all.iter().any(|g| g.id == web.id));
    assert_eq!(db.get_security_group(&web.id).await.unwrap(), web);
    let e = db.get_security_group("nope").await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");

    // Rules: added in order, duplicates refused, removed by id.
    let (r22, r80) = (rule(22), rule(80));
    db.add_security_group_rule(&web.id, &r22).await.unwrap();
    let g = db.add_security_group_rule(&web.id, &r80).await.unwrap();
    assert_eq!(g.rules, [r22.clone(), r80.clone()]);
    let e = db
        .add_security_group_rule(&web.id, &rule(22))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
    let g = db
        .remove_security_group_rule(&web.id, &r22.id)
        .await
        .unwrap();
    assert_eq!(g.rules, std::slice::from_ref(&r80));
    assert_eq!(db.get_security_group(&web.id).await.unwrap().rules, [r80]);
    let e = db
        .remove_security_group_rule(&web.id, &r22.id)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    let e = db
        .add_security_group_rule("nope", &rule(1))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");

    // Membership: a live member blocks deletion; a deleted instance does not.
    let i = vm(&p, "sg-member");
    db.create_instance(&i).await.unwrap();
    let e = db
        .set_instance_security_groups(&i.id, &["nope".into()])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    db.set_instance_security_groups(&i.id, &[web.id.clone(), db_group.id.clone()])
        .await
        .unwrap();
    let of: Vec<String> = db
        .instance_security_groups(&i.id)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(of, ["db", "web"]);
    let e = db.delete_security_group(&web.id).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    db.set_instance_security_groups(&i.id, std::slice::from_ref(&db_group.id))
        .await
        .unwrap();
    db.delete_security_group(&web.id).await.unwrap();
    let e = db.delete_security_group(&web.id).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    db.delete_instance(&i.id).await.unwrap();
    db.delete_security_group(&db_group.id).await.unwrap();
    db.delete_security_group(&other.id).await.unwrap();
    assert!(db.list_security_groups(Some(&p)).await.unwrap().is_empty());
}

/// EC2 ids are made once per (kind, uuid), distinct, resolvable, and
/// shared by binding (reservations).
pub async fn ec2_ids_are_stable(db: &dyn NovaDb) {
    let mut seen = BTreeSet::new();
    for kind in EC2_KINDS {
        let uuid = uuid::Uuid::new_v4().to_string();
        let id = db.ec2_id(kind, &uuid).await.unwrap();
        assert_eq!(Ec2Kind::of_id(&id), Some(kind), "{id}");
        assert_eq!(db.ec2_id(kind, &uuid).await.unwrap(), id);
        assert_eq!(db.resolve_ec2_id(&id).await.unwrap(), (kind, uuid.clone()));
        assert!(seen.insert(id));
    }
    // The same uuid as another kind gets another id.
    let u = uuid::Uuid::new_v4().to_string();
    let ami = db.ec2_id(Ec2Kind::Image, &u).await.unwrap();
    let aki = db.ec2_id(Ec2Kind::Kernel, &u).await.unwrap();
    assert_ne!(ami, aki);
    let e = db.resolve_ec2_id("i-ffffffff0").await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");

    // Concurrent first requests agree.
    let u = uuid::Uuid::new_v4().to_string();
    let ids = futures::future::join_all((0..8).map(|_| db.ec2_id(Ec2Kind::Instance, &u))).await;
    let ids: BTreeSet<String> = ids.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");

    // Binding: several uuids share a reservation id; a bound uuid keeps its id.
    let (a, b) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let r = db.ec2_id(Ec2Kind::Reservation, &a).await.unwrap();
    assert_eq!(
        db.bind_ec2_id(Ec2Kind::Reservation, &b, &r).await.unwrap(),
        r
    );
    let other = Ec2Kind::Reservation.generate();
    assert_eq!(
        db.bind_ec2_id(Ec2Kind::Reservation, &b, &other)
            .await
            .unwrap(),
        r
    );
    assert_eq!(db.ec2_id(Ec2Kind::Reservation, &b).await.unwrap(), r);
    let (kind, first) = db.resolve_ec2_id(&r).await.unwrap();
    assert_eq!(kind, Ec2Kind::Reservation);
    assert_eq!(first, a.clone().min(b));
}
