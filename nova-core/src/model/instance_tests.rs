use super::*;
use crate::model::flavor::default_flavors;

fn instance() -> Instance {
    let flavors = default_flavors();
    Instance::new(
        "vm1",
        ProjectId::new("p1").unwrap(),
        UserId::new("u1").unwrap(),
        &flavors[0],
        Some("img".into()),
    )
}

fn at(vm: VmState, task: Option<TaskState>) -> Instance {
    let mut i = instance();
    i.vm_state = vm;
    i.task_state = task;
    i
}

#[test]
fn new_instance_is_building_scheduling() {
    let i = instance();
    assert_eq!(i.vm_state, VmState::Building);
    assert_eq!(i.task_state, Some(TaskState::Scheduling));
    assert_eq!(i.status(), ServerStatus::Build);
    assert_eq!(i.resources.memory_mb, 512);
    assert_eq!(i.power_state, PowerState::NoState);
}

#[test]
fn stop_and_start_follow_nova_rules() {
    let mut i = at(VmState::Active, None);
    i.begin(InstanceAction::Stop).unwrap();
    assert_eq!(i.task_state, Some(TaskState::PoweringOff));
    assert_eq!(i.status(), ServerStatus::Active);
    i.settle(VmState::Stopped, PowerState::Shutdown);
    assert_eq!(i.status(), ServerStatus::Shutoff);
    let e = i.check_action(InstanceAction::Stop).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "conflict: Cannot 'stop' instance {} while it is in vm_state stopped",
            i.id
        )
    );
    i.begin(InstanceAction::Start).unwrap();
    assert_eq!(i.task_state, Some(TaskState::PoweringOn));
    assert!(at(VmState::Active, None)
        .check_action(InstanceAction::Start)
        .is_err());
    assert!(at(VmState::Error, None)
        .check_action(InstanceAction::Stop)
        .is_ok());
}

#[test]
fn busy_instance_reports_task_state() {
    let i = at(VmState::Active, Some(TaskState::PoweringOff));
    let e = i.check_action(InstanceAction::Stop).unwrap_err();
    assert!(e.to_string().ends_with("task_state powering-off"), "{e}");
}

#[test]
fn reboot_rules() {
    let soft = InstanceAction::RebootSoft;
    let hard = InstanceAction::RebootHard;
    assert!(at(VmState::Active, None).check_action(soft).is_ok());
    for vm in [
        VmState::Stopped,
        VmState::Paused,
        VmState::Suspended,
        VmState::Error,
    ] {
        assert!(at(vm, None).check_action(soft).is_err(), "{vm}");
        assert!(at(vm, None).check_action(hard).is_ok(), "{vm}");
    }
    assert!(at(VmState::Building, None).check_action(hard).is_err());
    assert!(at(VmState::Active, Some(TaskState::Rebooting))
        .check_action(hard)
        .is_ok());
    assert!(at(VmState::Active, Some(TaskState::Rebooting))
        .check_action(soft)
        .is_err());
    let mut i = at(VmState::Active, None);
    i.begin(hard).unwrap();
    assert_eq!(i.status(), ServerStatus::HardReboot);
}

#[test]
fn console_is_refused_while_building() {
    assert!(instance()
        .check_action(InstanceAction::ConsoleOutput)
        .is_err());
    assert!(at(VmState::Stopped, None)
        .check_action(InstanceAction::ConsoleOutput)
        .is_ok());
}

#[test]
fn delete_allowed_anywhere_but_twice() {
    let mut i = at(VmState::Error, None);
    i.begin(InstanceAction::Delete).unwrap();
    assert!(i.check_action(InstanceAction::Delete).is_err());
    assert!(instance().check_action(InstanceAction::Delete).is_ok());
}

#[test]
fn fail_records_fault_and_settle_sets_launch_time() {
    let mut i = instance();
    i.fail(500, "No valid host was found. ");
    assert_eq!(i.status(), ServerStatus::Error);
    assert_eq!(i.fault.as_ref().unwrap().code, 500);
    let mut i = instance();
    i.settle(VmState::Active, PowerState::Running);
    assert!(i.launched_at.is_some());
    assert_eq!(i.task_state, None);
}
