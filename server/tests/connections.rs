//! The accept loop on real sockets: `TCP_NODELAY` on every accepted connection (read back from
//! the socket), the header-read deadline against clients that trickle bytes, the cap on open
//! connections, the peer address reaching the router, and the real router served through it.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Extension};
use axum::routing::get;
use server::http::connections::{self, AcceptedSocket, ServeSettings};
use support::TestResult;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A router that tells what the accept loop gave the request.
fn probe_router() -> Router {
    Router::new()
        .route(
            "/socket",
            get(|Extension(socket): Extension<AcceptedSocket>| async move {
                format!("nodelay={}", socket.nodelay)
            }),
        )
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        )
}

/// Serves `router` on a free loopback port until the returned sender is dropped.
async fn start(
    router: Router,
    settings: ServeSettings,
) -> std::io::Result<(SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(connections::serve(listener, router, settings, async move {
        let _ = stopped.await;
    }));
    Ok((addr, stop, task))
}

/// Sends one request and reads the whole answer (the server closes after it).
async fn request(addr: SocketAddr, path: &str) -> std::io::Result<(TcpStream, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    Ok((stream, answer))
}

#[tokio::test]
async fn accepted_connections_have_tcp_nodelay_and_the_peer_address() -> TestResult {
    let (addr, _stop, _task) = start(probe_router(), ServeSettings::default()).await?;
    let (_, answer) = request(addr, "/socket").await?;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("nodelay=true"), "{answer}");

    let mut client = TcpStream::connect(addr).await?;
    let client_addr = client.local_addr()?;
    client
        .write_all(b"GET /peer HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = String::new();
    client.read_to_string(&mut answer).await?;
    assert!(answer.ends_with(&client_addr.to_string()), "{answer}");
    Ok(())
}

#[tokio::test]
async fn the_real_router_answers_through_the_accept_loop() -> TestResult {
    let database = support::TestDatabase::sqlite().await;
    let router = server::http::router(support::state(support::backend(&database).await));
    let (addr, _stop, _task) = start(router, ServeSettings::default()).await?;
    let (_, answer) = request(addr, "/healthz").await?;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok\n"), "{answer}");
    // The sign-in page is streamed in several writes: it arrives whole.
    let (_, page) = request(addr, "/signin").await?;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("</html>"), "{page}");
    Ok(())
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_at_the_deadline() -> TestResult {
    let settings = ServeSettings {
        header_read_timeout: Duration::from_secs(1),
        ..ServeSettings::default()
    };
    let (addr, _stop, _task) = start(probe_router(), settings).await?;
    let mut stream = TcpStream::connect(addr).await?;
    let started = Instant::now();
    stream.write_all(b"GET /socket HTTP/1.1\r\n").await?;
    // One byte of a header every 200 ms, never finishing, for up to 10 s.
    let mut closed_after = None;
    for byte in b"X-Slow: ".iter().cycle().take(50) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if stream.write_all(&[*byte]).await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut buffer = [0u8; 256];
        // hyper may answer 408 before closing; only the close (EOF or an error) counts.
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buffer)).await
        {
            closed_after = Some(started.elapsed());
            break;
        }
    }
    let closed_after = closed_after.ok_or("the server kept a trickling client for 10 s")?;
    assert!(
        closed_after >= Duration::from_millis(900),
        "cut too early: {closed_after:?}"
    );
    assert!(
        closed_after < Duration::from_secs(3),
        "cut too late: {closed_after:?}"
    );
    Ok(())
}

#[test]
fn the_default_header_deadline_is_at_most_30_seconds() {
    assert!(ServeSettings::default().header_read_timeout <= Duration::from_secs(30));
}

#[tokio::test]
async fn open_connections_are_capped_and_the_next_client_waits_for_a_free_slot() -> TestResult {
    let settings = ServeSettings {
        max_connections: 2,
        ..ServeSettings::default()
    };
    let (addr, _stop, _task) = start(probe_router(), settings).await?;
    let first = TcpStream::connect(addr).await?;
    let _second = TcpStream::connect(addr).await?;
    // Give the loop time to accept both.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let third = tokio::spawn(request(addr, "/socket"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !third.is_finished(),
        "a third connection was served while two were open"
    );
    drop(first);
    let (_, answer) = tokio::time::timeout(Duration::from_secs(5), third).await???;
    assert!(answer.ends_with("nodelay=true"), "{answer}");
    Ok(())
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() -> TestResult {
    let router = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            "finished"
        }),
    );
    let (addr, stop, task) = start(router, ServeSettings::default()).await?;
    let in_flight = tokio::spawn(request(addr, "/slow"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(stop);
    let (_, answer) = in_flight.await??;
    assert!(answer.ends_with("finished"), "{answer}");
    tokio::time::timeout(Duration::from_secs(5), task).await??;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
    Ok(())
}
