//! Runs a node's daemons: each on its own interval until shutdown, or one
//! pass on demand (`--once`), recording every pass in a [`ReconStore`].

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Daemon, PassReport, ReconStore};
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
struct Scheduled {
    daemon: Arc<dyn Daemon>,
    interval: Duration,
}

/// A set of daemons and the recon store their passes are recorded in.
///
/// ```
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// use swift_core::daemon::{DaemonRunner, ReconStore};
/// let recon = Arc::new(ReconStore::new());
/// let runner = DaemonRunner::new(recon.clone());
/// // runner.add(Arc::new(my_daemon), Duration::from_secs(30));
/// assert!(runner.names().is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct DaemonRunner {
    daemons: Vec<Scheduled>,
    recon: Arc<ReconStore>,
}

impl DaemonRunner {
    /// A runner with no daemons, recording into `recon`.
    pub fn new(recon: Arc<ReconStore>) -> Self {
        Self {
            daemons: Vec::new(),
            recon,
        }
    }

    /// Adds a daemon that runs a pass every `interval` (the first at once).
    /// A daemon whose name is already registered replaces the earlier one.
    pub fn add(&mut self, daemon: Arc<dyn Daemon>, interval: Duration) -> &mut Self {
        self.daemons.retain(|s| s.daemon.name() != daemon.name());
        self.recon.register(daemon.name());
        self.daemons.push(Scheduled { daemon, interval });
        self
    }

    /// Names of the registered daemons, in registration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.daemons.iter().map(|s| s.daemon.name()).collect()
    }

    /// The store passes are recorded in.
    pub fn recon(&self) -> &Arc<ReconStore> {
        &self.recon
    }

    /// Runs one pass of daemon `name`, or of every daemon in registration
    /// order when `name` is `None` or `"all"`, and returns each outcome.
    /// Fails with [`Error::NotFound`] for an unknown name.
    pub async fn run_once(&self, name: Option<&str>) -> Result<Vec<(String, Result<PassReport>)>> {
        let chosen: Vec<&Scheduled> = match name {
            None | Some("all") => self.daemons.iter().collect(),
            Some(n) => self
                .daemons
                .iter()
                .filter(|s| s.daemon.name() == n)
                .collect(),
        };
        if chosen.is_empty() && !matches!(name, None | Some("all")) {
            return Err(Error::not_found(format!(
                "daemon {}",
                name.unwrap_or_default()
            )));
        }
        let mut out = Vec::with_capacity(chosen.len());
        for s in chosen {
            let r = run_pass(s.daemon.as_ref(), &self.recon).await;
            out.push((s.daemon.name().to_string(), r));
        }
        Ok(out)
    }

    /// Starts one task per daemon running passes on its interval until
    /// `shutdown` is cancelled; a pass in progress finishes first.
    pub fn spawn(&self, shutdown: CancellationToken) -> Vec<JoinHandle<()>> {
        self.daemons
            .iter()
            .map(|s| {
                let (daemon, interval) = (Arc::clone(&s.daemon), s.interval);
                let (recon, stop) = (Arc::clone(&self.recon), shutdown.clone());
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(interval.max(Duration::from_millis(10)));
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tokio::select! {
                            () = stop.cancelled() => break,
                            _ = tick.tick() => {}
                        }
                        let _ = run_pass(daemon.as_ref(), &recon).await;
                    }
                    tracing::debug!(daemon = daemon.name(), "daemon stopped");
                })
            })
            .collect()
    }
}

/// Runs one pass, logs it and records it.
async fn run_pass(daemon: &dyn Daemon, recon: &ReconStore) -> Result<PassReport> {
    let name = daemon.name();
    tracing::debug!(daemon = name, "pass starting");
    let outcome = daemon.run_once().await;
    match &outcome {
        Ok(r) => tracing::info!(
            daemon = name,
            duration_ms = r.duration.as_millis() as u64,
            errors = r.errors,
            counts = ?r.counts,
            "pass done"
        ),
        Err(e) => tracing::warn!(daemon = name, error = %e, "pass failed"),
    }
    recon.record(name, &outcome);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[derive(Debug, Default)]
    struct Counter(AtomicU64);

    #[async_trait::async_trait]
    impl Daemon for Counter {
        fn name(&self) -> &'static str {
            "counter"
        }
        async fn run_once(&self) -> Result<PassReport> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            let mut r = PassReport::start();
            r.add("passes", 1);
            r.add("seen", n);
            Ok(r.finish())
        }
    }

    #[tokio::test]
    async fn once_runs_and_records() {
        let recon = Arc::new(ReconStore::new());
        let mut runner = DaemonRunner::new(recon.clone());
        runner.add(Arc::new(Counter::default()), Duration::from_secs(3600));
        assert_eq!(runner.names(), vec!["counter"]);
        let out = runner.run_once(Some("counter")).await.unwrap();
        assert_eq!(out[0].1.as_ref().unwrap().count("seen"), 1);
        runner.run_once(None).await.unwrap();
        assert!(runner.run_once(Some("nope")).await.is_err());
        let e = recon.get("counter").unwrap();
        assert_eq!(e.passes, 2);
        assert_eq!(e.totals["passes"], 2);
        assert_eq!(e.last.unwrap().count("seen"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn spawned_daemons_run_on_their_interval_and_stop() {
        let recon = Arc::new(ReconStore::new());
        let mut runner = DaemonRunner::new(recon.clone());
        runner.add(Arc::new(Counter::default()), Duration::from_secs(10));
        let stop = CancellationToken::new();
        let tasks = runner.spawn(stop.clone());
        // First pass at once, then one per 10 s of (paused, auto-advanced) time.
        tokio::time::sleep(Duration::from_secs(25)).await;
        stop.cancel();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(recon.get("counter").unwrap().passes, 3);
    }
}
