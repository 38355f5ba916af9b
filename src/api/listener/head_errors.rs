//! hyper answers a request head it cannot parse (400), one too large (431) or a URI too
//! long (414) itself, before the service sees a request, and with an empty body. hyper has
//! no hook for those answers, so this adapter sits between hyper and the socket and swaps
//! such an answer for the same status with a problem body.
//!
//! It recognises hyper's answer by its shape: a 4xx head with `content-length: 0` and
//! nothing after it. The service never answers a 4xx without a body (every error is a
//! problem), so nothing else has that shape.

use crate::api::problem;
use poem::http::StatusCode;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct HeadErrors<T> {
    inner: T,
    /// The answer being written in place of hyper's, and how many of hyper's bytes it
    /// stands for (reported as written once the whole answer is out).
    swap: Option<(Vec<u8>, usize, usize)>,
}

impl<T> HeadErrors<T> {
    pub fn new(inner: T) -> Self {
        HeadErrors { inner, swap: None }
    }
}

/// The answer to write instead of `written`, when `written` is hyper's own error answer.
fn replacement(written: &[u8]) -> Option<Vec<u8>> {
    let rest = written.strip_prefix(b"HTTP/1.1 4")?;
    let head_len = written.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    if head_len != written.len() {
        return None;
    }
    let head = std::str::from_utf8(&written[..head_len]).ok()?;
    if !head
        .lines()
        .any(|l| l.eq_ignore_ascii_case("content-length: 0"))
    {
        return None;
    }
    let digits = std::str::from_utf8(rest.get(..2)?).ok()?;
    let status = StatusCode::from_u16(400 + digits.parse::<u16>().ok()?).ok()?;
    let (status, body) = problem::head_error(status);
    let answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/problem+json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    Some(answer.into_bytes())
}

impl<T: AsyncWrite + Unpin> HeadErrors<T> {
    /// Writes what is left of the swapped answer; ready with hyper's byte count once all of
    /// it is out.
    fn poll_swap(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some((answer, sent, stands_for)) = self.swap.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        while *sent < answer.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &answer[*sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *sent += n;
        }
        let n = *stands_for;
        self.swap = None;
        Poll::Ready(Ok(n))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for HeadErrors<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.swap.is_none() {
            match replacement(buf) {
                Some(answer) => this.swap = Some((answer, 0, buf.len())),
                None => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
        this.poll_swap(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // hyper's error answer is one buffer; a vectored write of one is looked at like a
        // plain write, anything else goes straight through.
        match bufs {
            [one] => self.poll_write(cx, one),
            _ if self.swap.is_none() => Pin::new(&mut self.inner).poll_write_vectored(cx, bufs),
            _ => self.poll_swap(cx),
        }
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

impl<T: AsyncRead + Unpin> AsyncRead for HeadErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    const HYPER_431: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\n\
        connection: close\r\ncontent-length: 0\r\ndate: Thu, 03 Dec 2026 13:00:00 GMT\r\n\r\n";

    async fn through_adapter(written: &[u8]) -> String {
        let mut out = HeadErrors::new(Vec::new());
        out.write_all(written).await.expect("written");
        String::from_utf8(out.inner).expect("text")
    }

    #[tokio::test]
    async fn hypers_empty_431_becomes_a_problem_with_the_same_status() {
        let answer = through_adapter(HYPER_431).await;
        let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
        assert!(head.starts_with("HTTP/1.1 431 "), "{head}");
        assert!(head.contains("content-type: application/problem+json"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(body["status"], 431);
        assert_eq!(body["code"], "request_head_too_large");
    }

    #[tokio::test]
    async fn hypers_empty_400_becomes_invalid_request() {
        let answer = through_adapter(
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )
        .await;
        let body: serde_json::Value =
            serde_json::from_str(answer.split_once("\r\n\r\n").expect("head").1).expect("JSON");
        assert_eq!(
            (body["status"].as_u64(), body["code"].as_str()),
            (Some(400), Some("invalid_request"))
        );
    }

    #[tokio::test]
    async fn the_services_own_answers_pass_unchanged() {
        for written in [
            &b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}"[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"{\"content-length: 0\"}",
        ] {
            assert_eq!(through_adapter(written).await.as_bytes(), written);
        }
    }

    /// A socket that takes three bytes per write.
    struct Narrow(Vec<u8>);

    impl AsyncWrite for Narrow {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(3);
            self.0.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_swapped_answer_is_written_whole_through_short_writes() {
        let mut out = HeadErrors::new(Narrow(Vec::new()));
        let n = std::future::poll_fn(|cx| Pin::new(&mut out).poll_write(cx, HYPER_431))
            .await
            .expect("written");
        assert_eq!(n, HYPER_431.len(), "hyper is told its bytes are out");
        let expected = replacement(HYPER_431).expect("swapped");
        assert_eq!(out.inner.0, expected);
    }
}
