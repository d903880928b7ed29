//! The message bus between Nova's services: the [`MessageBus`] trait
//! (cast, call with reply, fanout, subscribe on topics), its message
//! types, and the in-process backend.
//!
//! Topics follow Nova: `scheduler`, `compute`, `compute.<host>`,
//! `network`, `volume`. A message is a method name plus JSON arguments.
//! Every subscriber of a topic competes for its casts and calls (each is
//! delivered to exactly one), while a fanout reaches every subscriber.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::HostName;

#[cfg(feature = "amqp")]
pub mod amqp;
#[cfg(any(test, feature = "testkit"))]
pub mod conformance;
pub mod memory;

#[cfg(feature = "amqp")]
pub use amqp::{AmqpBus, AmqpOptions};
pub use memory::InProcessBus;

/// A topic name: 1 to 255 ASCII letters, digits, `.`, `-` or `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Topic(String);

impl Topic {
    /// Validates any topic name.
    pub fn new(s: impl Into<String>) -> Result<Self> {
        let s = s.into();
        if s.is_empty()
            || s.len() > 255
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(Error::invalid(format!("bad topic {s:?}")));
        }
        Ok(Self(s))
    }

    /// `scheduler`.
    pub fn scheduler() -> Self {
        Self("scheduler".into())
    }

    /// `compute` (any compute host).
    pub fn compute() -> Self {
        Self("compute".into())
    }

    /// `compute.<host>`: one host's compute service.
    pub fn compute_host(host: &HostName) -> Self {
        Self(format!("compute.{host}"))
    }

    /// `network`.
    pub fn network() -> Self {
        Self("network".into())
    }

    /// `volume`.
    pub fn volume() -> Self {
        Self("volume".into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Topic {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        Self::new(s)
    }
}

impl From<Topic> for String {
    fn from(t: Topic) -> String {
        t.0
    }
}

/// A request on the bus: a method name and its JSON arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The method, e.g. `run_instance`.
    pub method: String,
    /// Its arguments.
    pub args: Value,
}

impl Message {
    /// A message calling `method` with `args`.
    pub fn new(method: impl Into<String>, args: Value) -> Self {
        Self {
            method: method.into(),
            args,
        }
    }
}

/// An error carried back over the bus in reply to a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteError {
    /// [`Error::kind`] on the remote side.
    pub kind: String,
    /// Its message.
    pub message: String,
}

impl From<&Error> for RemoteError {
    fn from(e: &Error) -> Self {
        Self {
            kind: e.kind().into(),
            message: e.to_string(),
        }
    }
}

impl From<RemoteError> for Error {
    fn from(e: RemoteError) -> Self {
        Error::Remote {
            kind: e.kind,
            message: e.message,
        }
    }
}

/// The answer to a call, as it travels.
pub type Reply = std::result::Result<Value, RemoteError>;

/// Where a call's reply goes; each backend provides its own (a channel
/// in process, a `reply_to` queue on AMQP).
#[async_trait]
pub trait ReplySink: Send + Sync + fmt::Debug + 'static {
    /// Sends the reply; a caller that gave up is not an error.
    async fn send(self: Box<Self>, reply: Reply) -> Result<()>;
}

/// How a delivery was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    /// One-way, to one subscriber.
    Cast,
    /// Request/reply, to one subscriber.
    Call,
    /// One-way, to every subscriber.
    Fanout,
}

/// A message handed to a subscriber.
#[derive(Debug)]
pub struct Delivery {
    /// The message.
    pub message: Message,
    /// How it was sent.
    pub kind: DeliveryKind,
    reply_to: Option<Box<dyn ReplySink>>,
}

impl Delivery {
    /// A delivery; `reply_to` is set for calls.
    pub fn new(message: Message, kind: DeliveryKind, reply_to: Option<Box<dyn ReplySink>>) -> Self {
        Self {
            message,
            kind,
            reply_to,
        }
    }

    /// Answers a call (an `Err` reaches the caller as [`Error::Remote`]
    /// with the same kind); answering a cast or fanout does nothing.
    pub async fn reply(self, result: Result<Value>) -> Result<()> {
        match self.reply_to {
            Some(sink) => sink.send(result.map_err(|e| RemoteError::from(&e))).await,
            None => Ok(()),
        }
    }
}

/// The stream of deliveries of one subscription; dropping it unsubscribes.
pub type Consumer = BoxStream<'static, Delivery>;

/// Moves messages between services. Object-safe; shared as
/// `Arc<dyn MessageBus>`.
#[async_trait]
pub trait MessageBus: Send + Sync + fmt::Debug + 'static {
    /// The backend's name, e.g. `in-process`.
    fn name(&self) -> &'static str;

    /// Sends `msg` to exactly one subscriber of `topic` and returns without
    /// waiting. A cast to a topic nobody consumes yet is kept until a
    /// subscriber arrives. Errors: [`Error::Unavailable`] when the broker
    /// cannot be reached.
    async fn cast(&self, topic: &Topic, msg: Message) -> Result<()>;

    /// Sends `msg` to exactly one subscriber and waits up to `timeout` for
    /// its reply. Errors: [`Error::Timeout`] when no reply came in time
    /// (e.g. no subscriber), [`Error::Remote`] when the subscriber replied
    /// with an error, [`Error::Unavailable`] when the broker is gone.
    async fn call(&self, topic: &Topic, msg: Message, timeout: Duration) -> Result<Value>;

    /// Sends `msg` to every current subscriber of `topic` (none is fine).
    async fn fanout(&self, topic: &Topic, msg: Message) -> Result<()>;

    /// Subscribes to `topic`: the consumer competes with the topic's other
    /// subscribers for casts and calls and gets every fanout sent after it
    /// subscribed. Topics are exact: `compute` does not see `compute.h1`.
    async fn subscribe(&self, topic: &Topic) -> Result<Consumer>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_follow_nova_names() {
        let h = HostName::new("node-1").unwrap();
        assert_eq!(Topic::compute_host(&h).as_str(), "compute.node-1");
        assert_eq!(Topic::scheduler().as_str(), "scheduler");
        assert!(Topic::new("bad topic").is_err());
        assert!(Topic::new("").is_err());
    }

    #[test]
    fn remote_errors_keep_their_kind() {
        let e = Error::conflict("busy");
        let back: Error = RemoteError::from(&e).into();
        assert_eq!(back.kind(), "Conflict");
        assert!(back.to_string().contains("busy"));
    }
}
