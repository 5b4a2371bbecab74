//! Accepting connections: the loop that hands each TCP connection to hyper. It owns what must be
//! decided per connection rather than per request: `TCP_NODELAY` (a response written in several
//! pieces must not wait for the client's delayed ACK), a deadline for reading request headers
//! (a client trickling bytes cannot hold a connection open), a cap on open connections, the
//! peer's address for the router (`ConnectInfo`), and graceful shutdown. It knows nothing of
//! routes: it serves whatever `Router` it is given.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::Service;

/// Limits of the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct ServeSettings {
    /// Time a client has to send a request's headers, from its first byte (or, on a kept-alive
    /// connection, from the end of the previous response). Past it the connection is closed.
    pub header_read_timeout: Duration,
    /// Connections open at once; further clients wait in the kernel's accept queue.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests before closing what is left.
    pub shutdown_grace: Duration,
}

impl Default for ServeSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(20),
            max_connections: 4096,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// What the accept loop set on a connection's socket, read back from the socket itself
/// (`getsockopt`) and put in each request's extensions, so tests over a real socket can see it.
#[derive(Debug, Clone, Copy)]
pub struct AcceptedSocket {
    pub nodelay: bool,
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting, lets
/// in-flight requests finish (up to `settings.shutdown_grace`) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ServeSettings,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    let open_connections = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);

    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&open_connections).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    pause_after_accept_error(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let socket = tune(&stream);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(socket);
            let mut router = router.clone();
            async move { Ok::<_, Infallible>(router.call(request).await.unwrap_or_else(|e| match e {})) }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // Timeouts and clients that go away are routine; nothing to tell the operator.
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }

    drop(listener);
    if tokio::time::timeout(settings.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "shutdown: some connections were still busy after {} s and were closed",
            settings.shutdown_grace.as_secs()
        );
    }
}

/// Sets the per-connection socket options and reads them back.
fn tune(stream: &TcpStream) -> AcceptedSocket {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::warn!(%error, "cannot set TCP_NODELAY on an accepted connection");
    }
    AcceptedSocket {
        nodelay: stream.nodelay().unwrap_or(false),
    }
}

/// After a failed `accept`: errors about one connection (it was reset before we took it) need
/// no pause; others (out of file descriptors) do, or the loop would spin.
async fn pause_after_accept_error(error: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept connections; retrying in one second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
