//! One subscription of an [`AmqpBus`] and the reply path of calls.

use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures::StreamExt;
use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Channel};

use super::{amqp_err, lock, AmqpBus};
use crate::bus::{Delivery, DeliveryKind, Message, Reply, ReplySink};
use crate::error::{Error, Result};

/// Sends a call's reply to the caller's reply queue.
#[derive(Debug)]
struct AmqpReplySink {
    bus: AmqpBus,
    reply_to: String,
    correlation_id: String,
}

#[async_trait]
impl ReplySink for AmqpReplySink {
    async fn send(self: Box<Self>, reply: Reply) -> Result<()> {
        let body = serde_json::to_vec(&reply).map_err(|e| Error::invalid(e.to_string()))?;
        let props = BasicProperties::default().with_correlation_id(self.correlation_id.into());
        // A caller that left has no queue any more: the broker drops it.
        self.bus
            .inner
            .chan
            .basic_publish(
                "".into(),
                self.reply_to.into(),
                BasicPublishOptions::default(),
                &body,
                props,
            )
            .await
            .map_err(|e| amqp_err("publish reply", e))?
            .await
            .map_err(|e| amqp_err("publish confirm", e))?;
        Ok(())
    }
}

/// One subscription: its own channel, consuming the topic queue and its
/// private fanout queue.
pub(super) struct AmqpConsumer {
    inner: futures::stream::SelectAll<lapin::Consumer>,
    chan: Option<Channel>,
    bus: AmqpBus,
}

impl AmqpConsumer {
    pub(super) fn new(streams: Vec<lapin::Consumer>, chan: Channel, bus: AmqpBus) -> Self {
        Self {
            inner: futures::stream::select_all(streams),
            chan: Some(chan),
            bus,
        }
    }

    fn decode(&self, d: lapin::message::Delivery) -> Option<Delivery> {
        let acker = d.acker.clone();
        tokio::spawn(async move {
            // A failed ack means the channel is gone: the broker requeues.
            let _ = acker.ack(lapin::options::BasicAckOptions::default()).await;
        });
        // Anything that is not one of our messages is dropped.
        let message: Message = serde_json::from_slice(&d.data).ok()?;
        let kind = match d.properties.kind().as_ref().map(|k| k.as_str()) {
            Some("call") => DeliveryKind::Call,
            Some("fanout") => DeliveryKind::Fanout,
            _ => DeliveryKind::Cast,
        };
        let sink: Option<Box<dyn ReplySink>> =
            match (kind, d.properties.reply_to(), d.properties.correlation_id()) {
                (DeliveryKind::Call, Some(to), Some(id)) => Some(Box::new(AmqpReplySink {
                    bus: self.bus.clone(),
                    reply_to: to.to_string(),
                    correlation_id: id.to_string(),
                })),
                _ => None,
            };
        Some(Delivery::new(message, kind, sink))
    }
}

impl futures::Stream for AmqpConsumer {
    type Item = Delivery;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        loop {
            match self.inner.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(d))) => {
                    if let Some(d) = self.decode(d) {
                        return Poll::Ready(Some(d));
                    }
                }
                Poll::Ready(Some(Err(_))) | Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Drop for AmqpConsumer {
    fn drop(&mut self) {
        let Some(chan) = self.chan.take() else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return; // lapin closes the channel when its last handle goes
        };
        let h = rt.spawn(async move {
            let _ = chan.close(200, "unsubscribed".into()).await;
        });
        lock(&self.bus.inner.closing).push(h);
    }
}
