//! The consumer loop every service runs: one task per delivered message,
//! so a handler waiting on another service never blocks the topic.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::bus::{MessageBus, Topic};
use crate::error::Result;

/// What a service does with one message.
#[async_trait]
pub(crate) trait Handler: Send + Sync + 'static {
    /// Handles `method(args)`; the result is the reply of a call (and is
    /// dropped for a cast).
    async fn handle(self: Arc<Self>, method: String, args: Value) -> Result<Value>;
}

/// A running service: its background tasks and the switch that stops them.
#[derive(Debug)]
pub struct ServiceHandle {
    name: String,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl ServiceHandle {
    pub(crate) fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            stop: watch::channel(false).0,
            tasks: Vec::new(),
        }
    }

    /// A receiver that changes when the service is told to stop.
    pub(crate) fn stopped(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    pub(crate) fn push(&mut self, task: JoinHandle<()>) {
        self.tasks.push(task);
    }

    /// The service's name, e.g. `compute.node1`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops consuming and heartbeating and waits for the loops to end
    /// (messages already being handled finish on their own).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Subscribes to `topic` and serves it with `handler` until `handle` is
/// stopped.
pub(crate) async fn serve<H: Handler>(
    bus: &Arc<dyn MessageBus>,
    topic: &Topic,
    handler: Arc<H>,
    handle: &mut ServiceHandle,
) -> Result<()> {
    let mut consumer = bus.subscribe(topic).await?;
    let mut stop = handle.stopped();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                next = consumer.next() => {
                    let Some(delivery) = next else { break };
                    let h = Arc::clone(&handler);
                    tokio::spawn(async move {
                        let msg = delivery.message.clone();
                        let result = h.handle(msg.method, msg.args).await;
                        // A caller that timed out is gone: nothing to do.
                        let _ = delivery.reply(result).await;
                    });
                }
            }
        }
    });
    handle.push(task);
    Ok(())
}
