//! Injected failures and delays of the [`super::FakeDriver`].

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::error::{Error, Result};

/// A driver operation, to aim failures and delays at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DriverOp {
    /// [`HypervisorDriver::spawn`].
    Spawn,
    /// [`HypervisorDriver::destroy`].
    Destroy,
    /// [`HypervisorDriver::reboot`].
    Reboot,
    /// [`HypervisorDriver::power_on`].
    PowerOn,
    /// [`HypervisorDriver::power_off`].
    PowerOff,
    /// [`HypervisorDriver::console_output`].
    ConsoleOutput,
    /// [`HypervisorDriver::attach_volume`].
    AttachVolume,
    /// [`HypervisorDriver::detach_volume`].
    DetachVolume,
    /// [`HypervisorDriver::instance_info`].
    InstanceInfo,
    /// [`HypervisorDriver::list_instances`].
    ListInstances,
    /// [`HypervisorDriver::host_resources`].
    HostResources,
    /// [`HypervisorDriver::check_can_live_migrate`].
    CheckLiveMigrate,
    /// [`HypervisorDriver::pre_live_migration`].
    PreLiveMigration,
    /// [`HypervisorDriver::live_migrate`].
    LiveMigrate,
    /// [`HypervisorDriver::post_live_migration`].
    PostLiveMigration,
}

/// The error an injected failure produces (inside [`Error::Backend`]).
#[derive(Debug, thiserror::Error)]
#[error("injected failure in {0:?}")]
pub struct InjectedFailure(pub DriverOp);

/// Failures left and delays per operation.
#[derive(Debug, Default)]
pub(super) struct Faults {
    /// Failures left per operation; `u32::MAX` = always.
    inner: Mutex<(HashMap<DriverOp, u32>, HashMap<DriverOp, Duration>)>,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, (HashMap<DriverOp, u32>, HashMap<DriverOp, Duration>)> {
        // Single-step updates only; poison is harmless.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn fail(&self, op: DriverOp, times: u32) {
        self.lock().0.insert(op, times);
    }

    pub(super) fn delay(&self, op: DriverOp, d: Duration) {
        self.lock().1.insert(op, d);
    }

    pub(super) fn clear(&self) {
        let mut g = self.lock();
        g.0.clear();
        g.1.clear();
    }

    /// Applies the delay and the injected failure of `op`.
    pub(super) async fn enter(&self, op: DriverOp) -> Result<()> {
        let (delay, fail) = {
            let mut g = self.lock();
            let delay = g.1.get(&op).copied();
            let fail = match g.0.get_mut(&op) {
                None => false,
                Some(n) if *n == 0 => false,
                Some(n) if *n == u32::MAX => true,
                Some(n) => {
                    *n -= 1;
                    true
                }
            };
            (delay, fail)
        };
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        if fail {
            return Err(Error::backend("fake", InjectedFailure(op)));
        }
        Ok(())
    }
}
