//! Slow and greedy clients: half-sent request heads, idle connections and connection
//! floods must not take the service from anyone else.

use super::{assert_problem, raw_http};
use crate::common::{Backend, TestApp, TestDb};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A connection to `app` from the loopback address `source` (127.0.0.x).
async fn connect_from(app: &TestApp, source: [u8; 4]) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket
        .bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(source)), 0))
        .expect("bind the source address");
    socket.connect(app.addr).await.expect("connect")
}

/// A connection from `source` that the server has surely accepted: it answered one request
/// on it, and keeps it open (kept alive, idle).
async fn served_from(app: &TestApp, source: [u8; 4]) -> TcpStream {
    let mut socket = connect_from(app, source).await;
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("written");
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = socket.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed before answering");
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")?
                        .parse()
                        .ok()
                })
                .unwrap_or(0);
            if body.len() >= length {
                return socket;
            }
        }
    }
}

/// Reads until the server closes the connection; what it sent on the way.
async fn until_closed(socket: &mut TcpStream, within: Duration) -> Result<Vec<u8>, &'static str> {
    let mut seen = Vec::new();
    match tokio::time::timeout(within, socket.read_to_end(&mut seen)).await {
        Ok(_) => Ok(seen),
        Err(_) => Err("still open"),
    }
}

/// `GET /healthz` from `source`, answered within a second.
async fn healthz_from(app: &TestApp, source: [u8; 4]) -> String {
    let ask = async {
        let mut socket = connect_from(app, source).await;
        socket
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("written");
        let answer = until_closed(&mut socket, Duration::from_secs(1)).await;
        String::from_utf8_lossy(&answer.expect("answered and closed")).into_owned()
    };
    tokio::time::timeout(Duration::from_secs(1), ask)
        .await
        .expect("/healthz answers within 1 s")
}

/// The connection handling is the same whatever the event store, so these run on SQLite.
async fn spawn(configure: impl FnOnce(&mut ledgerflow::config::Config)) -> TestApp {
    TestApp::spawn_on(Arc::new(TestDb::new(Backend::Sqlite).await), configure).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_heads_are_closed_at_the_head_timeout() {
    let app = spawn(|c| c.head_timeout_ms = 1_000).await;
    let started = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..1_000 {
        let mut socket = connect_from(&app, [127, 0, 0, 1]).await;
        socket
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("half a head written");
        slow.push(socket);
    }
    let all_open = Instant::now();
    let answer = healthz_from(&app, [127, 0, 0, 2]).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The last head was sent at `all_open`: 1 s of timeout, and 2 s for a loaded machine.
    let deadline = all_open + Duration::from_secs(3);
    for socket in &mut slow {
        let seen = until_closed(socket, deadline.saturating_duration_since(Instant::now())).await;
        assert!(
            seen.is_ok(),
            "a half-sent head was still open 3 s after it was sent"
        );
    }
    // Not before the timeout: a head has its whole second.
    assert!(started.elapsed() >= Duration::from_secs(1));
    let answer = healthz_from(&app, [127, 0, 0, 1]).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_closed_after_its_answer() {
    let app = spawn(|c| c.idle_timeout_ms = 300).await;
    let mut socket = connect_from(&app, [127, 0, 0, 1]).await;
    // Before the request is written: the service may read and answer it before this task
    // runs again, and the idle time counts from that answer.
    let started = Instant::now();
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("written");
    let seen = until_closed(&mut socket, Duration::from_secs(3)).await;
    let seen = String::from_utf8_lossy(&seen.expect("closed when idle")).into_owned();
    assert!(seen.starts_with("HTTP/1.1 200"), "answered first: {seen}");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_address_does_not_stop_another() {
    let app = spawn(|c| {
        c.max_connections_per_address = 20;
        c.max_connections = 30;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(served_from(&app, [127, 0, 0, 1]).await);
    }
    // Past its address's cap: closed at once, with nothing read.
    let mut past = connect_from(&app, [127, 0, 0, 1]).await;
    let seen = until_closed(&mut past, Duration::from_secs(1)).await;
    assert_eq!(seen, Ok(Vec::new()), "refused at once");
    let answer = healthz_from(&app, [127, 0, 0, 2]).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Past the total, every address is refused at once.
    for _ in 0..10 {
        held.push(served_from(&app, [127, 0, 0, 3]).await);
    }
    let mut past = connect_from(&app, [127, 0, 0, 4]).await;
    assert_eq!(
        until_closed(&mut past, Duration::from_secs(1)).await,
        Ok(Vec::new())
    );
    // Each closed connection frees its place, once the server has seen it close.
    held.truncate(5);
    let started = Instant::now();
    loop {
        let mut socket = connect_from(&app, [127, 0, 0, 4]).await;
        socket
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("written");
        let seen = until_closed(&mut socket, Duration::from_secs(1)).await;
        if seen
            .as_deref()
            .is_ok_and(|s| s.starts_with(b"HTTP/1.1 200"))
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(3), "no place freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// hyper answers heads it cannot read itself; the answers still carry a problem body (a
/// head too large: `size::huge_values_in_body_path_and_query_are_refused`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_heads_get_problem_bodies() {
    let app = spawn(|_| {}).await;
    let bad_length = "POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Length: 12x\r\n\r\n";
    let r = raw_http(&app, bad_length.as_bytes().to_vec()).await;
    assert_problem(&r, 400, "invalid_request", "Content-Length: 12x");
    let bad_line = "GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n";
    let r = raw_http(&app, bad_line.as_bytes().to_vec()).await;
    assert_problem(&r, 400, "invalid_request", "a bad request line");
}
