//! [`AmqpBus`]: the message bus on RabbitMQ (AMQP 0.9.1), via `lapin`.
//!
//! Layout on the broker, for a bus with prefix `p` and topic `t`:
//! - casts and calls go through the default exchange to the durable queue
//!   `p.t`, declared by whoever publishes or subscribes first (so casts sent
//!   before any subscriber are kept); every subscriber consumes it, and
//!   the broker hands each message to one of them;
//! - fanouts go to the fanout exchange `p.t.fanout`; each subscriber binds
//!   its own exclusive, auto-deleted queue to it;
//! - a call carries `reply_to` (the bus's exclusive reply queue) and a
//!   `correlation_id`; the reply comes back on that queue. A call expires in
//!   the topic queue after its timeout.
//!
//! A subscriber acknowledges a message when it hands it out, so messages it
//! had not yet handed out go back to the queue when it is dropped (its
//! channel is closed; the bus waits for that before its next operation).
//! Reconnecting after the broker went away is not done: operations then fail
//! with [`Error::Unavailable`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

mod consumer;

use consumer::AmqpConsumer;

use super::{Consumer, DeliveryKind, Message, MessageBus, Reply, Topic};
use crate::error::{Error, Result};

/// How many unacknowledged messages the broker pushes to one subscriber.
const PREFETCH: u16 = 16;

/// Options of [`AmqpBus::connect`].
#[derive(Debug, Clone)]
pub struct AmqpOptions {
    /// Prefix of every queue and exchange name (default `ferrostack`), so
    /// several clouds (or test runs) can share one broker.
    pub prefix: String,
}

impl Default for AmqpOptions {
    fn default() -> Self {
        Self {
            prefix: "ferrostack".into(),
        }
    }
}

/// Calls waiting for their reply, by correlation id.
type Pending = Mutex<HashMap<String, oneshot::Sender<Reply>>>;

pub(super) struct Inner {
    conn: Connection,
    /// Publishes casts, calls, fanouts and replies (publisher confirms on).
    pub(super) chan: Channel,
    prefix: String,
    reply_queue: String,
    pending: Arc<Pending>,
    /// Queues and exchanges this bus already declared.
    declared: Mutex<HashSet<String>>,
    /// Closes of dropped subscribers' channels still under way.
    pub(super) closing: Mutex<Vec<JoinHandle<()>>>,
}

/// The RabbitMQ [`MessageBus`]. Cloning shares the connection.
#[derive(Clone)]
pub struct AmqpBus {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for AmqpBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: it is not kept, let alone shown.
        f.debug_struct("AmqpBus")
            .field("prefix", &self.inner.prefix)
            .field("reply_queue", &self.inner.reply_queue)
            .finish_non_exhaustive()
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the data consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Maps a lapin error: lost connections and broker refusals are
/// `Unavailable`; anything else is a backend error.
pub(super) fn amqp_err(what: &str, e: lapin::Error) -> Error {
    use lapin::ErrorKind as K;
    match e.kind() {
        K::IOError(_)
        | K::RuntimeShutdownError(_)
        | K::InvalidChannelState(..)
        | K::InvalidConnectionState(_)
        | K::MissingHeartbeatError
        | K::ChannelsLimitReached => Error::unavailable(format!("amqp {what}: {e}")),
        _ => Error::backend("amqp", format!("{what}: {e}")),
    }
}

fn kind_name(k: DeliveryKind) -> &'static str {
    match k {
        DeliveryKind::Cast => "cast",
        DeliveryKind::Call => "call",
        DeliveryKind::Fanout => "fanout",
    }
}

impl AmqpBus {
    /// Connects to the broker at `url` (e.g.
    /// `amqp://guest:guest@127.0.0.1:5672/%2f`) and sets up the reply
    /// queue. Errors: [`Error::Unavailable`] when the broker cannot be
    /// reached.
    pub async fn connect(url: &str, opts: AmqpOptions) -> Result<Self> {
        let conn = Connection::connect(url, ConnectionProperties::default())
            .await
            .map_err(|e| Error::unavailable(format!("amqp connect: {e}")))?;
        let chan = conn
            .create_channel()
            .await
            .map_err(|e| amqp_err("channel", e))?;
        chan.confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| amqp_err("confirm.select", e))?;
        let replies = conn
            .create_channel()
            .await
            .map_err(|e| amqp_err("channel", e))?;
        let q = replies
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| amqp_err("reply queue", e))?;
        let reply_queue = q.name().to_string();
        let consumer = replies
            .basic_consume(
                q.name().clone(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| amqp_err("reply consume", e))?;
        let pending: Arc<Pending> = Arc::default();
        tokio::spawn(route_replies(consumer, replies, Arc::clone(&pending)));
        Ok(Self {
            inner: Arc::new(Inner {
                conn,
                chan,
                prefix: opts.prefix,
                reply_queue,
                pending,
                declared: Mutex::default(),
                closing: Mutex::default(),
            }),
        })
    }

    /// Closes the connection; clones of this bus stop working.
    pub async fn close(&self) -> Result<()> {
        self.inner
            .conn
            .close(200, "bye".into())
            .await
            .map_err(|e| amqp_err("close", e))
    }

    fn queue_name(&self, topic: &Topic) -> String {
        format!("{}.{topic}", self.inner.prefix)
    }

    fn exchange_name(&self, topic: &Topic) -> String {
        format!("{}.{topic}.fanout", self.inner.prefix)
    }

    /// Waits until dropped subscribers' channels are closed, so their
    /// untaken messages are back in the queue before we go on.
    async fn settle(&self) {
        let closing = std::mem::take(&mut *lock(&self.inner.closing));
        for h in closing {
            let _ = h.await;
        }
    }

    async fn declare_queue(&self, chan: &Channel, name: &str) -> Result<()> {
        if lock(&self.inner.declared).contains(name) {
            return Ok(());
        }
        chan.queue_declare(
            name.into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| amqp_err("queue.declare", e))?;
        lock(&self.inner.declared).insert(name.to_owned());
        Ok(())
    }

    async fn declare_exchange(&self, chan: &Channel, name: &str) -> Result<()> {
        if lock(&self.inner.declared).contains(name) {
            return Ok(());
        }
        chan.exchange_declare(
            name.into(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| amqp_err("exchange.declare", e))?;
        lock(&self.inner.declared).insert(name.to_owned());
        Ok(())
    }

    async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        msg: &Message,
        props: BasicProperties,
    ) -> Result<()> {
        let body = serde_json::to_vec(msg).map_err(|e| Error::invalid(e.to_string()))?;
        self.inner
            .chan
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions::default(),
                &body,
                props,
            )
            .await
            .map_err(|e| amqp_err("publish", e))?
            .await
            .map_err(|e| amqp_err("publish confirm", e))?;
        Ok(())
    }
}

/// Hands each reply on the reply queue to the call waiting for it.
async fn route_replies(mut consumer: lapin::Consumer, _chan: Channel, pending: Arc<Pending>) {
    while let Some(Ok(d)) = consumer.next().await {
        let Some(id) = d.properties.correlation_id() else {
            continue;
        };
        let Some(tx) = lock(&pending).remove(id.as_str()) else {
            continue; // the caller gave up
        };
        let reply = serde_json::from_slice::<Reply>(&d.data).unwrap_or_else(|e| {
            Err(super::RemoteError {
                kind: "Backend".into(),
                message: format!("undecodable reply: {e}"),
            })
        });
        let _ = tx.send(reply);
    }
    // The connection is gone: waiting calls fail at once.
    lock(&pending).clear();
}

#[async_trait]
impl MessageBus for AmqpBus {
    fn name(&self) -> &'static str {
        "amqp"
    }

    async fn cast(&self, topic: &Topic, msg: Message) -> Result<()> {
        self.settle().await;
        let q = self.queue_name(topic);
        self.declare_queue(&self.inner.chan, &q).await?;
        let props = BasicProperties::default()
            .with_type(kind_name(DeliveryKind::Cast).into())
            .with_delivery_mode(2);
        self.publish("", &q, &msg, props).await
    }

    async fn call(&self, topic: &Topic, msg: Message, timeout: Duration) -> Result<Value> {
        self.settle().await;
        let what = format!("call {topic} {}", msg.method);
        let q = self.queue_name(topic);
        self.declare_queue(&self.inner.chan, &q).await?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.pending).insert(id.clone(), tx);
        let props = BasicProperties::default()
            .with_type(kind_name(DeliveryKind::Call).into())
            .with_reply_to(self.inner.reply_queue.as_str().into())
            .with_correlation_id(id.as_str().into())
            .with_expiration(timeout.as_millis().max(1).to_string().into());
        let waited = async {
            self.publish("", &q, &msg, props).await?;
            match rx.await {
                Ok(reply) => reply.map_err(Error::from),
                Err(_) => Err(Error::unavailable(format!(
                    "{what}: the connection to the broker is gone"
                ))),
            }
        };
        let out = match tokio::time::timeout(timeout, waited).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout {
                what,
                after: timeout,
            }),
        };
        lock(&self.inner.pending).remove(&id);
        out
    }

    async fn fanout(&self, topic: &Topic, msg: Message) -> Result<()> {
        self.settle().await;
        let x = self.exchange_name(topic);
        self.declare_exchange(&self.inner.chan, &x).await?;
        let props = BasicProperties::default().with_type(kind_name(DeliveryKind::Fanout).into());
        self.publish(&x, "", &msg, props).await
    }

    async fn subscribe(&self, topic: &Topic) -> Result<Consumer> {
        self.settle().await;
        let chan = self
            .inner
            .conn
            .create_channel()
            .await
            .map_err(|e| amqp_err("channel", e))?;
        chan.basic_qos(PREFETCH, BasicQosOptions::default())
            .await
            .map_err(|e| amqp_err("basic.qos", e))?;
        let q = self.queue_name(topic);
        self.declare_queue(&chan, &q).await?;
        let x = self.exchange_name(topic);
        self.declare_exchange(&chan, &x).await?;
        let mine = chan
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| amqp_err("queue.declare", e))?;
        chan.queue_bind(
            mine.name().clone(),
            x.as_str().into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| amqp_err("queue.bind", e))?;
        let mut streams = Vec::new();
        for queue in [q.as_str(), mine.name().as_str()] {
            let c = chan
                .basic_consume(
                    queue.into(),
                    "".into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| amqp_err("basic.consume", e))?;
            streams.push(c);
        }
        Ok(Box::pin(AmqpConsumer::new(streams, chan, self.clone())))
    }
}

#[cfg(test)]
mod tests;
