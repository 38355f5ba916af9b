//! The HTTP server under the API: it accepts connections within the caps of [`Slots`],
//! gives every request head a deadline and every connection an idle limit, and on shutdown
//! stops accepting, lets each accepted request finish and waits for the connections to
//! close, within a grace.
//!
//! poem's own server has none of these limits (a half-sent head waited for ever), so the
//! service runs hyper itself and hands each request to the poem endpoint.

mod head_errors;
mod idle;
mod slots;

use head_errors::HeadErrors;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use idle::{LastActive, Watched};
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint};
use slots::Slot;
pub use slots::Slots;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

/// What a connection may take.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From when the server starts waiting for a request head (a new connection, or the
    /// last answer sent on a kept-alive one) to its last byte.
    pub head_timeout: Duration,
    /// No byte moved either way for this long closes the connection (after the answer in
    /// flight, if any).
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
}

/// Serves `endpoint` on `listener` until `stop` resolves; then stops accepting, and waits
/// up to `grace` (without one, for as long as it takes) for the open connections to finish
/// their requests and close.
pub async fn serve<E>(
    listener: TcpListener,
    endpoint: E,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
    grace: Option<Duration>,
) where
    E: Endpoint + 'static,
{
    let endpoint = Arc::new(endpoint);
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout);
    let slots = Slots::new(limits.max_connections, limits.max_connections_per_address);
    let (closing, _) = watch::channel(false);
    let local = listener.local_addr().ok();
    tokio::pin!(stop);
    loop {
        let (socket, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was taken:
                    // the listener itself is fine, so wait a moment and go on.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let Some(slot) = slots.take(peer.ip()) else {
            tracing::debug!(%peer, "connection refused: at the connection cap");
            continue;
        };
        let local = local.unwrap_or(peer);
        let endpoint = endpoint.clone();
        let closing = closing.subscribe();
        tokio::spawn(connection(
            socket,
            (local, peer),
            (http.clone(), endpoint),
            limits.idle_timeout,
            closing,
            slot,
        ));
    }
    drop(listener);
    closing.send_replace(true);
    match grace {
        Some(grace) => {
            if tokio::time::timeout(grace, slots.all_closed())
                .await
                .is_err()
            {
                tracing::warn!(open = slots.open(), "grace over: connections left open");
            }
        }
        None => slots.all_closed().await,
    }
}

/// Serves one connection until the client closes it, it idles past its limit, or the
/// server stops; the slot is given back when it ends.
async fn connection<E: Endpoint + 'static>(
    socket: TcpStream,
    (local, peer): (SocketAddr, SocketAddr),
    (http, endpoint): (auto::Builder<TokioExecutor>, Arc<E>),
    idle_timeout: Duration,
    mut closing: watch::Receiver<bool>,
    _slot: Slot,
) {
    let _ = socket.set_nodelay(true);
    let last_active = LastActive::new();
    let io = TokioIo::new(HeadErrors::new(Watched::new(socket, last_active.clone())));
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let endpoint = endpoint.clone();
        let local = LocalAddr(Addr::SocketAddr(local));
        let remote = RemoteAddr(Addr::SocketAddr(peer));
        async move {
            let request = (req, local, remote, poem::http::uri::Scheme::HTTP).into();
            let response: hyper::Response<Body> = endpoint.get_response(request).await.into();
            Ok::<_, Infallible>(response)
        }
    });
    let conn = http.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = last_active.idle_for(idle_timeout) => {}
        _ = closing.wait_for(|closing| *closing) => {}
    }
    // Answers the request in flight, if any, then closes.
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}
