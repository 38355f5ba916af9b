//! One client's HTTP/1.1 connection to the service: hyper's client connection, without the
//! pool, URL parsing and header map that a general client spends per request. Each client
//! sends one request at a time, on a connection it keeps. The load generator shares the
//! service's cores, so what it spends per request is taken from the service (BENCHMARKS.md,
//! issue 17, session 18).

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{SendRequest, handshake};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

/// Where the clients send, and as whom: parsed once for all of them.
#[derive(Clone)]
pub struct Target {
    /// host:port
    authority: String,
    host: HeaderValue,
    bearer: HeaderValue,
}

/// A connection to a [`Target`], opened on first use and again after a failure.
pub struct Conn {
    target: Target,
    sender: Option<SendRequest<Full<Bytes>>>,
}

/// What the service answered.
pub struct Answer {
    pub status: u16,
    /// The `idempotent-replay` header was there.
    pub replay: bool,
    pub body: Bytes,
}

impl Target {
    /// `target` (`http://host:port`, a path after it ignored), with `key` as the bearer
    /// token.
    pub fn parse(target: &str, key: &str) -> Result<Target, String> {
        let rest = target.strip_prefix("http://").ok_or_else(|| {
            format!("the target {target:?} is not http://host:port (https is not supported)")
        })?;
        let authority = rest.split('/').next().unwrap_or_default().to_owned();
        let host = HeaderValue::from_str(&authority).map_err(|e| e.to_string())?;
        let bearer = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|e| e.to_string())?;
        Ok(Target {
            authority,
            host,
            bearer,
        })
    }
}

impl Conn {
    pub fn new(target: Target) -> Conn {
        Conn {
            target,
            sender: None,
        }
    }

    /// POSTs `body` (JSON) to `path`, and reads the whole answer.
    pub async fn post(&mut self, path: &str, body: Vec<u8>) -> Result<Answer, String> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(HOST, self.target.host.clone())
            .header(AUTHORIZATION, self.target.bearer.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let sender = match &mut self.sender {
            Some(sender) => sender,
            None => self.sender.insert(self.connect().await?),
        };
        let answered = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status().as_u16();
            let replay = response.headers().contains_key("idempotent-replay");
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>(Answer {
                status,
                replay,
                body,
            })
        };
        answered.await.map_err(|e| {
            // A broken connection is opened again by the next request.
            self.sender = None;
            e.to_string()
        })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let authority = &self.target.authority;
        let stream = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|e| format!("connect to {authority}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, connection) = handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        Ok(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that answers each connection's first request with `answer`, then closes it.
    async fn one_answer_per_connection(answer: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let target = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut read = vec![0; 4096];
                let _ = socket.read(&mut read).await;
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        target
    }

    #[tokio::test]
    async fn an_answer_is_read_whole_and_a_closed_connection_is_opened_again() {
        let answer = "HTTP/1.1 201 Created\r\nidempotent-replay: true\r\ncontent-length: 7\r\n\
                      connection: close\r\n\r\n{\"a\":1}";
        let target = one_answer_per_connection(answer).await;
        let mut conn = Conn::new(Target::parse(&target, "lf_key").expect("a target"));
        let first = conn.post("/v1/entries", b"{}".to_vec()).await;
        // The server closed that connection: a request may fail on it, and the next opens
        // a new one.
        let second = match conn.post("/v1/entries", b"{}".to_vec()).await {
            Ok(got) => got,
            Err(_) => conn
                .post("/v1/entries", b"{}".to_vec())
                .await
                .expect("an answer"),
        };
        for got in [first.expect("an answer"), second] {
            assert_eq!(got.status, 201);
            assert!(got.replay);
            assert_eq!(&got.body[..], b"{\"a\":1}");
        }
    }

    #[test]
    fn only_plain_http_targets_are_taken() {
        assert!(Target::parse("https://127.0.0.1:8080", "k").is_err());
        let target = Target::parse("http://127.0.0.1:8080/", "k").expect("a target");
        assert_eq!(target.authority, "127.0.0.1:8080");
    }
}
