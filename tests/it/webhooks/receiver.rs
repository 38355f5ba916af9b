//! A webhook receiver of the test's own: HTTP/1.1 on 127.0.0.1, keep-alive, that records
//! every request (headers, raw body) and answers each with the status the test's plan
//! gives its arrival number.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One request as it arrived, and the status it was answered.
#[derive(Debug, Clone)]
pub struct Received {
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: String,
    pub answered: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    pub fn event_id(&self) -> String {
        self.json()["id"].as_str().expect("an id").to_owned()
    }

    pub fn seq(&self) -> i64 {
        self.json()["seq"].as_i64().expect("a seq")
    }

    pub fn owner(&self) -> String {
        self.json()["owner_id"]
            .as_str()
            .expect("an owner")
            .to_owned()
    }

    /// Whether `Ledgerflow-Signature` is the HMAC-SHA256 of `"<t>.<body>"` under `secret`,
    /// computed here from the raw body.
    pub fn signed_with(&self, secret: &str) -> bool {
        let header = self.header("ledgerflow-signature");
        let mut t = None;
        let mut v1 = None;
        for part in header.split(',') {
            match part.split_once('=') {
                Some(("t", value)) => t = Some(value),
                Some(("v1", value)) => v1 = Some(value),
                _ => {}
            }
        }
        let (Some(t), Some(v1)) = (t, v1) else {
            return false;
        };
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("a key");
        mac.update(format!("{t}.{}", self.body).as_bytes());
        let Ok(given) = hex::decode(v1) else {
            return false;
        };
        mac.verify_slice(&given).is_ok()
    }

    /// The signature's `t`, in unix seconds.
    pub fn signed_at(&self) -> i64 {
        let header = self.header("ledgerflow-signature");
        let t = header.split(',').find_map(|p| p.strip_prefix("t="));
        t.and_then(|t| t.parse().ok()).expect("t=")
    }
}

type Plan = dyn Fn(usize) -> u16 + Send + Sync;

/// A running receiver; it stops when dropped.
pub struct Receiver {
    pub addr: SocketAddr,
    got: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// Answers request number `n` (from 0, in arrival order) with `plan(n)`, after `delay`.
    pub async fn start(
        plan: impl Fn(usize) -> u16 + Send + Sync + 'static,
        delay: Duration,
    ) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = listener.local_addr().expect("an address");
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let plan: Arc<Plan> = Arc::new(plan);
        let task = {
            let got = got.clone();
            tokio::spawn(async move {
                while let Ok((conn, _)) = listener.accept().await {
                    let (got, plan) = (got.clone(), plan.clone());
                    tokio::spawn(async move { serve(conn, &got, &*plan, delay).await });
                }
            })
        };
        Receiver { addr, got, task }
    }

    /// Always 200.
    pub async fn ok() -> Receiver {
        Receiver::start(|_| 200, Duration::ZERO).await
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().expect("the requests").clone()
    }

    /// The requests so far once `done` holds of them; panics after `within`.
    pub async fn until(
        &self,
        within: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received();
            if done(&got) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver did not get what was expected within {within:?}; it got {} requests",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The distinct event ids answered 2xx.
pub fn delivered(got: &[Received]) -> std::collections::HashSet<String> {
    got.iter()
        .filter(|r| (200..300).contains(&r.answered))
        .map(Received::event_id)
        .collect()
}

async fn serve(conn: TcpStream, got: &Mutex<Vec<Received>>, plan: &Plan, delay: Duration) {
    let mut conn = BufReader::new(conn);
    loop {
        let mut headers = HashMap::new();
        let mut line = String::new();
        if conn.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if conn.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if conn.read_exact(&mut body).await.is_err() {
            return;
        }
        let answered = {
            let mut got = got.lock().expect("the requests");
            let answered = plan(got.len());
            got.push(Received {
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
                answered,
            });
            answered
        };
        tokio::time::sleep(delay).await;
        let head = format!("HTTP/1.1 {answered} X\r\ncontent-length: 0\r\n\r\n");
        if conn.get_mut().write_all(head.as_bytes()).await.is_err() {
            return;
        }
    }
}
