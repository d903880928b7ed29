//! Process plumbing shared by every ferrostack server binary and
//! `ferrostack up`: logging, signals, and HTTP servers that stop gracefully.
//! Not a server itself, so servers may depend on it.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Installs the global `tracing` subscriber: human-readable lines on
/// stderr, filtered by `RUST_LOG` (default `info`). Calling it twice is
/// harmless.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for sigterm");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("interrupt received, shutting down"),
        () = term => tracing::info!("terminate received, shutting down"),
    }
}

/// Binds a listener, naming the address in the error.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

/// An HTTP server running on its own task.
#[derive(Debug)]
pub struct RunningServer {
    name: String,
    local_addr: SocketAddr,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Serves `router` on `listener` until `shutdown` is cancelled; then
    /// it stops accepting and lets in-flight requests finish.
    pub fn spawn(
        name: impl Into<String>,
        listener: TcpListener,
        router: Router,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let name = name.into();
        let local_addr = listener.local_addr().context("listener has no address")?;
        // Small responses must not wait out delayed ACKs (Nagle).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await
        });
        tracing::info!(server = %name, addr = %local_addr, "listening");
        Ok(Self {
            name,
            local_addr,
            task,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The server's name in logs.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits for the server to stop (after shutdown was signalled), at most
    /// `grace`; requests still running then are cut.
    pub async fn wait(self, grace: Duration) -> anyhow::Result<()> {
        let mut task = self.task;
        match tokio::time::timeout(grace, &mut task).await {
            Ok(joined) => {
                joined
                    .with_context(|| format!("{} server task failed", self.name))?
                    .with_context(|| format!("{} server failed", self.name))?;
                tracing::info!(server = %self.name, "stopped");
            }
            Err(_) => {
                tracing::warn!(server = %self.name, "in-flight requests did not finish in time; cutting them");
                task.abort();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_flight_request_finishes_after_shutdown() {
        let (entered_tx, mut entered_rx) = tokio::sync::mpsc::channel::<()>(1);
        let (release_tx, release_rx) = tokio::sync::watch::channel(false);
        let router = Router::new().fallback(move || {
            let entered = entered_tx.clone();
            let mut release = release_rx.clone();
            async move {
                let _ = entered.send(()).await;
                let _ = release.wait_for(|v| *v).await;
                "done"
            }
        });
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let token = CancellationToken::new();
        let server = RunningServer::spawn("test", listener, router, token.clone()).unwrap();
        let addr = server.local_addr();
        let req =
            tokio::spawn(
                async move { reqwest::get(format!("http://{addr}/x")).await?.text().await },
            );
        entered_rx.recv().await.unwrap();
        // Shut down while the request is in the handler, then let it finish.
        token.cancel();
        release_tx.send(true).unwrap();
        let body = req.await.unwrap().unwrap();
        assert_eq!(body, "done");
        server.wait(Duration::from_secs(5)).await.unwrap();
        // No new connections after shutdown.
        assert!(reqwest::get(format!("http://{addr}/x")).await.is_err());
    }
}
