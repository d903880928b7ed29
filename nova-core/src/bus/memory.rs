//! [`InProcessBus`]: the message bus of one process, on tokio channels.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::{Consumer, Delivery, DeliveryKind, Message, MessageBus, Reply, ReplySink, Topic};
use crate::error::{Error, Result};

#[derive(Debug, Default)]
struct TopicState {
    consumers: Vec<mpsc::UnboundedSender<Delivery>>,
    /// Round-robin position for casts and calls.
    next: usize,
    /// Casts and calls sent while nobody consumed the topic.
    backlog: VecDeque<Delivery>,
}

impl TopicState {
    /// Hands `d` to the next live consumer, or keeps it for later.
    fn dispatch(&mut self, mut d: Delivery) {
        while !self.consumers.is_empty() {
            let i = self.next % self.consumers.len();
            match self.consumers[i].send(d) {
                Ok(()) => {
                    self.next = i + 1;
                    return;
                }
                Err(mpsc::error::SendError(back)) => {
                    self.consumers.swap_remove(i);
                    d = back;
                }
            }
        }
        self.backlog.push_back(d);
    }
}

/// The in-process [`MessageBus`]: each subscriber gets its own unbounded
/// channel; casts and calls go round-robin to one live subscriber (or wait
/// in a backlog), fanouts go to all. Cloning shares the bus.
#[derive(Debug, Clone, Default)]
pub struct InProcessBus {
    topics: Arc<Topics>,
}

#[derive(Debug)]
struct OneshotSink(oneshot::Sender<Reply>);

#[async_trait]
impl ReplySink for OneshotSink {
    async fn send(self: Box<Self>, reply: Reply) -> Result<()> {
        // The caller may have timed out and left: not our error.
        let _ = self.0.send(reply);
        Ok(())
    }
}

impl InProcessBus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Topic, TopicState>> {
        // Every critical section leaves the map consistent, so a poisoned
        // lock is still usable.
        self.topics.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn dispatch(&self, topic: &Topic, d: Delivery) {
        self.lock().entry(topic.clone()).or_default().dispatch(d);
    }
}

#[async_trait]
impl MessageBus for InProcessBus {
    fn name(&self) -> &'static str {
        "in-process"
    }

    async fn cast(&self, topic: &Topic, msg: Message) -> Result<()> {
        self.dispatch(topic, Delivery::new(msg, DeliveryKind::Cast, None));
        Ok(())
    }

    async fn call(&self, topic: &Topic, msg: Message, timeout: Duration) -> Result<Value> {
        let what = format!("call {topic} {}", msg.method);
        let (tx, rx) = oneshot::channel();
        let sink: Box<dyn ReplySink> = Box::new(OneshotSink(tx));
        self.dispatch(topic, Delivery::new(msg, DeliveryKind::Call, Some(sink)));
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => reply.map_err(Error::from),
            Ok(Err(_)) => Err(Error::unavailable(format!(
                "{what}: dropped without a reply"
            ))),
            Err(_) => Err(Error::Timeout {
                what,
                after: timeout,
            }),
        }
    }

    async fn fanout(&self, topic: &Topic, msg: Message) -> Result<()> {
        let mut topics = self.lock();
        if let Some(t) = topics.get_mut(topic) {
            t.consumers.retain(|c| {
                c.send(Delivery::new(msg.clone(), DeliveryKind::Fanout, None))
                    .is_ok()
            });
        }
        Ok(())
    }

    async fn subscribe(&self, topic: &Topic) -> Result<Consumer> {
        let (tx, rx) = mpsc::unbounded_channel();
        {
            let mut topics = self.lock();
            let t = topics.entry(topic.clone()).or_default();
            t.consumers.push(tx);
            let backlog = std::mem::take(&mut t.backlog);
            for d in backlog {
                t.dispatch(d);
            }
        }
        Ok(Box::pin(InProcessConsumer {
            rx,
            topic: topic.clone(),
            topics: Arc::downgrade(&self.topics),
        }))
    }
}

type Topics = Mutex<HashMap<Topic, TopicState>>;

/// One subscription. On drop, the casts and calls it had not yet taken go
/// back to the topic (as a broker requeues unacknowledged messages).
struct InProcessConsumer {
    rx: mpsc::UnboundedReceiver<Delivery>,
    topic: Topic,
    topics: Weak<Topics>,
}

impl futures::Stream for InProcessConsumer {
    type Item = Delivery;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for InProcessConsumer {
    fn drop(&mut self) {
        self.rx.close();
        let Some(topics) = self.topics.upgrade() else {
            return;
        };
        let mut topics = topics.lock().unwrap_or_else(|p| p.into_inner());
        let t = topics.entry(self.topic.clone()).or_default();
        while let Ok(d) = self.rx.try_recv() {
            if d.kind != DeliveryKind::Fanout {
                t.dispatch(d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_process_bus_conforms() {
        super::super::conformance::run_all(&InProcessBus::new()).await;
    }
}
