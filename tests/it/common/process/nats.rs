//! A NATS server with JetStream of a test's own.

use super::{free_port, log_file, tail};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// `nats-server` with JetStream of a test's own (`LEDGERFLOW_TEST_NATS_SERVER`, else
/// `/usr/sbin/nats-server`), its store in a temporary directory that outlives restarts.
pub struct NatsServer {
    pub port: u16,
    child: Option<Child>,
    log: PathBuf,
    dir: TempDir,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        let mut server = NatsServer {
            port: free_port(),
            child: None,
            dir: tempfile::tempdir().expect("a directory for JetStream"),
            log: PathBuf::new(),
        };
        server.log = server.dir.path().join("nats.log");
        server.spawn();
        server
    }

    fn binary() -> String {
        let path = std::env::var("LEDGERFLOW_TEST_NATS_SERVER")
            .unwrap_or_else(|_| "/usr/sbin/nats-server".to_owned());
        assert!(
            Path::new(&path).is_file(),
            "these tests need the nats-server binary at {path} (set LEDGERFLOW_TEST_NATS_SERVER \
             to use another)"
        );
        path
    }

    fn spawn(&mut self) {
        let log = log_file(&self.log, "start");
        let store = self.dir.path().join("jetstream");
        let child = Command::new(Self::binary())
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&store)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file"))
            .stderr(log)
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let child = self.child.as_mut().expect("a started server");
            if let Some(status) = child.try_wait().expect("nats-server's status") {
                panic!("nats-server exited ({status}):\n{}", tail(&self.log, 40));
            }
            assert!(
                Instant::now() < deadline,
                "nats-server does not listen on {} after 10 s:\n{}",
                self.port,
                tail(&self.log, 40)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL nats-server");
            child.wait().expect("the killed nats-server is reaped");
        }
    }

    /// Starts it again on the same port with the same JetStream store.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "nats-server (last lines of its log):\n{}",
                tail(&self.log, 30)
            );
        }
    }
}
