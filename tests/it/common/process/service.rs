//! The `ledgerflow` binary as a process of a test's own.

use super::{Env, free_port, log_file, tail};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// `ledgerflow serve` as a child process on a port of its own, killed with SIGKILL when
/// dropped.
pub struct Service {
    pub addr: SocketAddr,
    env: Env,
    child: Option<Child>,
    log: PathBuf,
    starts: usize,
    _dir: TempDir,
}

impl Service {
    /// Starts the service and waits until `/healthz` answers 200.
    pub async fn start(env: &Env) -> Service {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let dir = tempfile::tempdir().expect("a directory for the service's log");
        let mut service = Service {
            addr,
            env: env.clone().with("LEDGERFLOW_LISTEN", addr.to_string()),
            child: None,
            log: dir.path().join("ledgerflow.log"),
            starts: 0,
            _dir: dir,
        };
        service.spawn().await;
        service
    }

    async fn spawn(&mut self) {
        self.starts += 1;
        let log = log_file(&self.log, &format!("start {}", self.starts));
        let child = self
            .env
            .command(&["serve"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file"))
            .stderr(log)
            .spawn()
            .expect("ledgerflow serve starts");
        self.child = Some(child);
        self.ready(Duration::from_secs(30)).await;
    }

    async fn ready(&mut self, within: Duration) {
        let client = crate::common::http_client()
            .timeout(Duration::from_secs(1))
            .build()
            .expect("an HTTP client");
        let deadline = Instant::now() + within;
        loop {
            let child = self.child.as_mut().expect("a started service");
            if let Some(status) = child.try_wait().expect("the service's status") {
                panic!(
                    "ledgerflow serve exited at start ({status}):\n{}",
                    tail(&self.log, 40)
                );
            }
            if let Ok(r) = client.get(self.url("/healthz")).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "ledgerflow serve not ready within {within:?}:\n{}",
                tail(&self.log, 40)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `kill -9`: no shutdown, no flush, connections reset.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL the service");
            child.wait().expect("the killed service is reaped");
        }
    }

    /// Sends SIGTERM and waits for the service to exit: its exit status, and how long it took.
    pub fn terminate(&mut self) -> (std::process::ExitStatus, Duration) {
        let mut child = self.child.take().expect("a running service");
        let started = Instant::now();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM runs");
        assert!(sent.success(), "SIGTERM was sent");
        let status = child.wait().expect("the service exits");
        (status, started.elapsed())
    }

    /// Kills the service if it runs and starts it again on the same port.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "ledgerflow at {} (last lines of its log):\n{}",
                self.addr,
                tail(&self.log, 60)
            );
        }
    }
}
