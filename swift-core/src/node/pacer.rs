//! A rate limiter for daemons: spreads work out to at most `per_second`
//! units per second (items, files or bytes), shared by concurrent tasks.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Paces units of work; `None` rate means unlimited.
#[derive(Debug)]
pub(crate) struct Pacer {
    per_second: Option<f64>,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// A pacer allowing `per_second` units per second (unlimited if `None`
    /// or not positive).
    pub(crate) fn new(per_second: Option<f64>) -> Self {
        Self {
            per_second: per_second.filter(|r| r.is_finite() && *r > 0.0),
            next: Mutex::new(None),
        }
    }

    /// Waits until `units` more units may be done.
    pub(crate) async fn take(&self, units: f64) {
        let Some(rate) = self.per_second else {
            return;
        };
        let now = Instant::now();
        let wait_until = {
            let mut next = match self.next.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            let start = next.map_or(now, |n| n.max(now));
            *next = Some(start + Duration::from_secs_f64(units.max(0.0) / rate));
            start
        };
        if wait_until > now {
            tokio::time::sleep_until(wait_until).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spreads_units_over_time() {
        let p = Pacer::new(Some(100.0));
        let start = Instant::now();
        for _ in 0..11 {
            p.take(1.0).await;
        }
        // The first unit goes at once; ten more need a tenth of a second.
        assert!(start.elapsed() >= Duration::from_millis(99));
        let free = Pacer::new(None);
        let t = Instant::now();
        free.take(1e9).await;
        assert!(
            t.elapsed() < Duration::from_millis(50),
            "unlimited never waits"
        );
    }
}
