//! NATS JetStream for the tests: a uniquely named stream and consumer per test, deleted
//! when the test ends, and a TCP proxy in front of NATS that a test can cut.

use ledgerflow::config::Config;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// NATS used by the tests; override with LEDGERFLOW_TEST_NATS (host:port).
pub fn nats_addr() -> String {
    std::env::var("LEDGERFLOW_TEST_NATS").unwrap_or_else(|_| "127.0.0.1:4222".to_owned())
}

/// A stream and consumer of one test's own.
pub struct TestBus {
    pub url: String,
    pub stream: String,
    pub subject: String,
}

impl TestBus {
    pub async fn new() -> TestBus {
        let addr = nats_addr();
        if let Err(e) = TcpStream::connect(&addr).await {
            panic!(
                "these tests need NATS with JetStream at {addr} (set LEDGERFLOW_TEST_NATS to use \
                 another): {e}"
            );
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        TestBus {
            url: format!("nats://{addr}"),
            stream: format!("LF_TEST_{id}"),
            subject: format!("lftest.{id}"),
        }
    }

    /// Points `config` at this bus (through `url`, which may be a proxy's).
    pub fn configure(&self, config: &mut Config, url: &str) {
        config.nats_url = Some(url.to_owned());
        config.nats_stream = self.stream.clone();
        config.nats_subject = self.subject.clone();
        config.nats_consumer = "projector".to_owned();
    }

    /// A JetStream context of its own, for looking at the stream from outside the service.
    pub async fn jetstream(&self) -> async_nats::jetstream::Context {
        let client = async_nats::connect(self.url.as_str()).await.expect("NATS");
        async_nats::jetstream::new(client)
    }
}

impl Drop for TestBus {
    fn drop(&mut self) {
        let (url, stream) = (self.url.clone(), self.stream.clone());
        super::cleanup(async move {
            let client = async_nats::connect(url.as_str()).await.ok()?;
            let js = async_nats::jetstream::new(client);
            js.delete_stream(&stream).await.ok().map(drop)
        });
    }
}

/// A TCP proxy to NATS that can be cut (every connection dropped, new ones refused) and
/// restored, to play a NATS outage without stopping the server other tests use.
pub struct Proxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: String, up: bool) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = listener.local_addr().expect("an address");
        let up = Arc::new(AtomicBool::new(up));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = tokio::spawn({
            let (up, links) = (up.clone(), links.clone());
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        continue; // dropped: the connection closes at once
                    }
                    let upstream = upstream.clone();
                    let link = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    links.lock().expect("links").push(link);
                }
            }
        });
        Proxy {
            addr,
            up,
            links,
            accept,
        }
    }

    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().expect("links").drain(..) {
            link.abort();
        }
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}
