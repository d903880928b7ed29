//! A small async QMP client over a Unix socket: reads the greeting,
//! negotiates `qmp_capabilities`, runs commands with ids and collects the
//! events that arrive in between so callers can wait for them.
//!
//! QEMU's QMP socket serves one client at a time, so the driver opens a
//! connection per operation while holding the instance's lock.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::time::{timeout_at, Instant};

use crate::error::Error;

/// How long one command may take to answer.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a QMP exchange failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum QmpError {
    #[error("qmp socket {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("qmp socket {0} closed")]
    Closed(PathBuf),
    #[error("qmp protocol error: {0}")]
    Protocol(String),
    #[error("qmp command {command} failed: {class}: {desc}")]
    Command {
        command: String,
        class: String,
        desc: String,
    },
    #[error("waiting for {what} on qmp socket {path}")]
    Timeout {
        what: String,
        path: PathBuf,
        after: Duration,
    },
}

impl From<QmpError> for Error {
    fn from(e: QmpError) -> Self {
        match e {
            QmpError::Timeout { what, path, after } => Error::Timeout {
                what: format!("qmp {what} ({})", path.display()),
                after,
            },
            other => Error::backend("qemu", other),
        }
    }
}

/// One open QMP session.
#[derive(Debug)]
pub(crate) struct Qmp {
    path: PathBuf,
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    events: VecDeque<Value>,
    next_id: u64,
}

impl Qmp {
    /// Connects (retrying while the socket is not there yet, up to
    /// `wait`), reads the greeting and leaves capabilities negotiation.
    pub(crate) async fn connect(path: &Path, wait: Duration) -> Result<Self, QmpError> {
        let deadline = Instant::now() + wait;
        let stream = loop {
            match UnixStream::connect(path).await {
                Ok(s) => break s,
                Err(e) if Instant::now() < deadline => {
                    tracing::trace!(path = %path.display(), error = %e, "qmp connect retry");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(source) => {
                    return Err(QmpError::Io {
                        path: path.to_owned(),
                        source,
                    })
                }
            }
        };
        let (r, w) = stream.into_split();
        let mut qmp = Self {
            path: path.to_owned(),
            reader: BufReader::new(r),
            writer: w,
            events: VecDeque::new(),
            next_id: 1,
        };
        let greeting = qmp.read_message(Instant::now() + COMMAND_TIMEOUT).await?;
        if greeting.get("QMP").is_none() {
            return Err(QmpError::Protocol(format!(
                "unexpected greeting {greeting}"
            )));
        }
        qmp.execute("qmp_capabilities", None).await?;
        Ok(qmp)
    }

    async fn read_message(&mut self, deadline: Instant) -> Result<Value, QmpError> {
        let mut line = String::new();
        let n = timeout_at(deadline, self.reader.read_line(&mut line))
            .await
            .map_err(|_| QmpError::Timeout {
                what: "a reply".into(),
                path: self.path.clone(),
                after: COMMAND_TIMEOUT,
            })?
            .map_err(|source| QmpError::Io {
                path: self.path.clone(),
                source,
            })?;
        if n == 0 {
            return Err(QmpError::Closed(self.path.clone()));
        }
        serde_json::from_str(&line)
            .map_err(|e| QmpError::Protocol(format!("bad json from qemu: {e}: {line:?}")))
    }

    /// Runs `command` and returns its `return` value; events read on the
    /// way are kept for [`Qmp::wait_event`].
    pub(crate) async fn execute(
        &mut self,
        command: &str,
        arguments: Option<Value>,
    ) -> Result<Value, QmpError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({"execute": command, "id": id});
        if let (Some(args), Some(obj)) = (arguments, msg.as_object_mut()) {
            obj.insert("arguments".into(), args);
        }
        tracing::debug!(socket = %self.path.display(), %msg, "qmp execute");
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(b'\n');
        self.writer
            .write_all(&bytes)
            .await
            .map_err(|source| QmpError::Io {
                path: self.path.clone(),
                source,
            })?;
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let m = self.read_message(deadline).await?;
            if m.get("event").is_some() {
                tracing::debug!(socket = %self.path.display(), event = %m, "qmp event");
                self.events.push_back(m);
                continue;
            }
            if m.get("id").and_then(Value::as_u64) != Some(id) {
                continue;
            }
            if let Some(err) = m.get("error") {
                let field = |k: &str| {
                    err.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                return Err(QmpError::Command {
                    command: command.to_owned(),
                    class: field("class"),
                    desc: field("desc"),
                });
            }
            return Ok(m.get("return").cloned().unwrap_or(Value::Null));
        }
    }

    /// Waits up to `wait` for an event named `name` whose `data` passes
    /// `matches`; earlier events already read count too.
    pub(crate) async fn wait_event(
        &mut self,
        name: &str,
        wait: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Result<Value, QmpError> {
        let is_it = |e: &Value| {
            e.get("event").and_then(Value::as_str) == Some(name)
                && matches(e.get("data").unwrap_or(&Value::Null))
        };
        if let Some(pos) = self.events.iter().position(is_it) {
            return Ok(self.events.remove(pos).unwrap_or(Value::Null));
        }
        let deadline = Instant::now() + wait;
        loop {
            let m = match self.read_message(deadline).await {
                Err(QmpError::Timeout { path, .. }) => {
                    return Err(QmpError::Timeout {
                        what: format!("event {name}"),
                        path,
                        after: wait,
                    })
                }
                other => other?,
            };
            if is_it(&m) {
                return Ok(m);
            }
            if m.get("event").is_some() {
                self.events.push_back(m);
            }
        }
    }

    /// `query-status`'s `status` string.
    pub(crate) async fn status(&mut self) -> Result<String, QmpError> {
        let r = self.execute("query-status", None).await?;
        Ok(r.get("status")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::net::UnixListener;

    /// A scripted QMP server: greets, then answers each command line.
    async fn fake_server(path: PathBuf) {
        let l = UnixListener::bind(&path).unwrap();
        let (s, _) = l.accept().await.unwrap();
        let (r, mut w) = s.into_split();
        let mut r = BufReader::new(r);
        w.write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n")
            .await
            .unwrap();
        let mut line = String::new();
        while r.read_line(&mut line).await.unwrap() > 0 {
            let m: Value = serde_json::from_str(&line).unwrap();
            let id = m["id"].clone();
            let reply = match m["execute"].as_str().unwrap() {
                "query-status" => {
                    w.write_all(b"{\"event\": \"RESUME\", \"data\": {}}\n")
                        .await
                        .unwrap();
                    json!({"return": {"status": "running"}, "id": id})
                }
                "device_del" => {
                    w.write_all(
                        b"{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"other\"}}\n",
                    )
                    .await
                    .unwrap();
                    w.write_all(
                        b"{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"vdb\"}}\n",
                    )
                    .await
                    .unwrap();
                    json!({"return": {}, "id": id})
                }
                "qmp_capabilities" => json!({"return": {}, "id": id}),
                _ => json!({"error": {"class": "CommandNotFound", "desc": "nope"}, "id": id}),
            };
            w.write_all(format!("{reply}\n").as_bytes()).await.unwrap();
            line.clear();
        }
    }

    #[tokio::test]
    async fn commands_errors_and_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qmp.sock");
        let server = tokio::spawn(fake_server(path.clone()));
        let mut q = Qmp::connect(&path, Duration::from_secs(5)).await.unwrap();
        assert_eq!(q.status().await.unwrap(), "running");
        let e = q.execute("bogus", None).await.unwrap_err();
        assert!(
            matches!(&e, QmpError::Command { class, .. } if class == "CommandNotFound"),
            "{e:?}"
        );
        q.execute("device_del", Some(json!({"id": "vdb"})))
            .await
            .unwrap();
        let ev = q
            .wait_event("DEVICE_DELETED", Duration::from_secs(1), |d| {
                d["device"] == "vdb"
            })
            .await
            .unwrap();
        assert_eq!(ev["data"]["device"], "vdb");
        let e = q
            .wait_event("SHUTDOWN", Duration::from_millis(100), |_| true)
            .await
            .unwrap_err();
        assert!(matches!(e, QmpError::Timeout { .. }), "{e:?}");
        drop(q);
        server.await.unwrap();
    }
}
