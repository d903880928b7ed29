use super::*;
use ServerStatus as S;
use TaskState as T;
use VmState as V;

/// Nova's `_STATE_MAP`, written out row by row.
fn defaults() -> Vec<(V, S)> {
    vec![
        (V::Active, S::Active),
        (V::Building, S::Build),
        (V::Stopped, S::Shutoff),
        (V::Resized, S::VerifyResize),
        (V::Paused, S::Paused),
        (V::Suspended, S::Suspended),
        (V::Rescued, S::Rescue),
        (V::Error, S::Error),
        (V::Deleted, S::Deleted),
        (V::SoftDeleted, S::SoftDeleted),
        (V::Shelved, S::Shelved),
        (V::ShelvedOffloaded, S::ShelvedOffloaded),
    ]
}

fn overrides() -> Vec<(V, T, S)> {
    let mut rows = vec![
        (V::Active, T::Rebooting, S::Reboot),
        (V::Active, T::RebootPending, S::Reboot),
        (V::Active, T::RebootStarted, S::Reboot),
        (V::Active, T::RebootingHard, S::HardReboot),
        (V::Active, T::RebootPendingHard, S::HardReboot),
        (V::Active, T::RebootStartedHard, S::HardReboot),
        (V::Active, T::UpdatingPassword, S::Password),
        (V::Active, T::Migrating, S::Migrating),
        (V::Resized, T::ResizeReverting, S::RevertResize),
        (V::Paused, T::Migrating, S::Migrating),
    ];
    let rebuild = [
        T::Rebuilding,
        T::RebuildBlockDeviceMapping,
        T::RebuildSpawning,
    ];
    let resize = [
        T::ResizePrep,
        T::ResizeMigrating,
        T::ResizeMigrated,
        T::ResizeFinish,
    ];
    for t in rebuild {
        rows.push((V::Active, t, S::Rebuild));
        rows.push((V::Stopped, t, S::Rebuild));
        rows.push((V::Error, t, S::Rebuild));
    }
    for t in resize {
        rows.push((V::Active, t, S::Resize));
        rows.push((V::Stopped, t, S::Resize));
    }
    rows
}

#[test]
fn every_row_of_the_state_map() {
    let defaults = defaults();
    assert_eq!(
        defaults.len(),
        V::ALL.len(),
        "a vm_state lacks a default row"
    );
    let overrides = overrides();
    for &(vm, default) in &defaults {
        assert_eq!(status_from_state(vm, None), default, "{vm}/None");
        for &task in T::ALL {
            let want = overrides
                .iter()
                .find(|(v, t, _)| *v == vm && *t == task)
                .map(|r| r.2)
                .unwrap_or(default);
            assert_eq!(status_from_state(vm, Some(task)), want, "{vm}/{task}");
        }
    }
}

#[test]
fn string_form_matches_nova_edges() {
    assert_eq!(
        status_from_strs("active", Some("rebooting_hard")),
        S::HardReboot
    );
    assert_eq!(status_from_strs("active", Some("no-such-task")), S::Active);
    assert_eq!(status_from_strs("weird", None), S::Unknown);
    assert_eq!(status_from_strs("soft-delete", None), S::SoftDeleted);
    assert_eq!(status_from_strs("building", Some("scheduling")), S::Build);
}

#[test]
fn wire_names_round_trip() {
    for v in V::ALL {
        assert_eq!(v.as_str().parse::<V>().unwrap(), *v);
        assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
    }
    for t in T::ALL {
        assert_eq!(t.as_str().parse::<T>().unwrap(), *t);
    }
    assert_eq!(T::PoweringOff.as_str(), "powering-off");
    assert_eq!(S::HardReboot.as_str(), "HARD_REBOOT");
}

#[test]
fn power_state_codes_are_novas() {
    let codes: Vec<u8> = [
        PowerState::NoState,
        PowerState::Running,
        PowerState::Paused,
        PowerState::Shutdown,
        PowerState::Crashed,
        PowerState::Suspended,
    ]
    .iter()
    .map(|p| p.code())
    .collect();
    assert_eq!(codes, [0, 1, 3, 4, 6, 7]);
    assert_eq!(serde_json::to_string(&PowerState::Shutdown).unwrap(), "4");
    assert_eq!(PowerState::try_from(6).unwrap(), PowerState::Crashed);
    assert!(PowerState::try_from(2).is_err());
}
