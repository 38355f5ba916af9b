//! When a connection last moved a byte, so that one idle for too long can be closed.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// The time of a connection's last read or write, in µs since it opened. (Whole ms would
/// put the last move up to 1 ms early, and close a connection before its timeout.)
#[derive(Clone)]
pub struct LastActive {
    opened: Instant,
    us: Arc<AtomicU64>,
}

impl LastActive {
    pub fn new() -> Self {
        LastActive {
            opened: Instant::now(),
            us: Arc::default(),
        }
    }

    fn touch(&self) {
        let us = u64::try_from(self.opened.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.us.store(us, Ordering::Relaxed);
    }

    /// Returns once the connection has moved no byte for `timeout`.
    pub async fn idle_for(&self, timeout: Duration) {
        loop {
            let last = self.opened + Duration::from_micros(self.us.load(Ordering::Relaxed));
            let deadline = last + timeout;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A socket that stamps [`LastActive`] on every read and write that moves bytes.
pub struct Watched<T> {
    inner: T,
    last: LastActive,
}

impl<T> Watched<T> {
    pub fn new(inner: T, last: LastActive) -> Self {
        Watched { inner, last }
    }
}

fn stamp<R>(last: &LastActive, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
    if let Poll::Ready(Ok(_)) = &poll {
        last.touch();
    }
    poll
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        stamp(&this.last, Pin::new(&mut this.inner).poll_read(cx, buf))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        stamp(&this.last, Pin::new(&mut this.inner).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        stamp(
            &this.last,
            Pin::new(&mut this.inner).poll_write_vectored(cx, bufs),
        )
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn idle_for_waits_from_the_last_byte_moved() {
        let last = LastActive::new();
        let mut socket = Watched::new(Vec::new(), last.clone());
        tokio::time::advance(Duration::from_millis(700)).await;
        socket.write_all(b"x").await.expect("written");
        let started = Instant::now();
        last.idle_for(Duration::from_secs(1)).await;
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }
}
