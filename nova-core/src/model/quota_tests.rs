use super::*;
use QuotaResource as Q;

fn p(s: &str) -> ProjectId {
    ProjectId::new(s).unwrap()
}

#[test]
fn reserve_commit_release_cycle() {
    let book = QuotaBook::default();
    let pr = p("p1");
    book.set_limits(&pr, QuotaLimits::default());
    let r = book
        .reserve(&pr, &[(Q::Instances, 1), (Q::Cores, 2)])
        .unwrap();
    assert_eq!(
        book.usage(&pr, Q::Cores),
        QuotaUsage {
            in_use: 0,
            reserved: 2
        }
    );
    r.commit();
    assert_eq!(
        book.usage(&pr, Q::Cores),
        QuotaUsage {
            in_use: 2,
            reserved: 0
        }
    );
    book.release(&pr, &[(Q::Instances, 1), (Q::Cores, 2)]);
    assert_eq!(book.usage(&pr, Q::Cores), QuotaUsage::default());
}

#[test]
fn exceeding_any_resource_reserves_nothing() {
    let book = QuotaBook::new(QuotaLimits::default());
    let pr = p("p1");
    let e = book
        .reserve(&pr, &[(Q::Instances, 1), (Q::Cores, 21)])
        .unwrap_err();
    match e {
        Error::QuotaExceeded {
            resource,
            requested,
            used,
            limit,
        } => {
            assert_eq!(
                (resource.as_str(), requested, used, limit),
                ("cores", 21, 0, 20)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(book.usage(&pr, Q::Instances), QuotaUsage::default());
}

#[test]
fn drop_and_rollback_give_back() {
    let book = QuotaBook::default();
    let pr = p("p1");
    {
        let _r = book.reserve(&pr, &[(Q::Ram, 512)]).unwrap();
    }
    book.reserve(&pr, &[(Q::Ram, 512)]).unwrap().rollback();
    assert_eq!(book.usage(&pr, Q::Ram), QuotaUsage::default());
}

#[test]
fn unlimited_and_per_project_limits() {
    let book = QuotaBook::default();
    let (a, b) = (p("a"), p("b"));
    let mut l = QuotaLimits::default();
    l.set(Q::Instances, None);
    l.set(Q::FloatingIps, Some(0));
    book.set_limits(&a, l);
    book.reserve(&a, &[(Q::Instances, 1000)]).unwrap().commit();
    assert!(book.reserve(&a, &[(Q::FloatingIps, 1)]).is_err());
    assert!(book.reserve(&b, &[(Q::FloatingIps, 1)]).is_ok());
    assert_eq!(book.limits(&b).get(Q::Ram), Some(51200));
}

#[test]
fn duplicate_deltas_are_summed() {
    let book = QuotaBook::default();
    let pr = p("p");
    assert!(book
        .reserve(&pr, &[(Q::Instances, 6), (Q::Instances, 6)])
        .is_err());
}

#[test]
fn concurrent_reservations_never_overshoot() {
    let book = QuotaBook::default();
    let pr = p("p1");
    let handles: Vec<_> = (0..32)
        .map(|_| {
            let (book, pr) = (book.clone(), pr.clone());
            std::thread::spawn(move || match book.reserve(&pr, &[(Q::Instances, 1)]) {
                Ok(r) => {
                    r.commit();
                    1
                }
                Err(_) => 0,
            })
        })
        .collect();
    let ok: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(ok, 10);
    assert_eq!(book.usage(&pr, Q::Instances).in_use, 10);
}
