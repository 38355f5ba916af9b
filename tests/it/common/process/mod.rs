//! Real processes for the fault tests: the `ledgerflow` binary, a NATS server and a
//! PostgreSQL cluster of a test's own. Each can be stopped (SIGKILL, or an immediate
//! shutdown for PostgreSQL) and started again on the same port and data, and is stopped
//! when dropped. A test that panics prints the tail of each process's log.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::bus::TestBus;

mod nats;
mod postgres;
mod service;

pub use nats::NatsServer;
pub use postgres::PgCluster;
pub use service::Service;

/// A port nothing listens on, below the kernel's ephemeral range so that no outgoing
/// connection takes it while a process of the test is down, and never handed out twice by
/// this test binary (a stopped process keeps its port for its restart).
pub fn free_port() -> u16 {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let mut given = GIVEN
        .get_or_init(Mutex::default)
        .lock()
        .expect("the set of given ports");
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    for _ in 0..1000 {
        let port = rand::random_range(20_000..ephemeral_start.max(20_001));
        if !given.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.insert(port);
            return port;
        }
    }
    panic!("no free port in 20000..{ephemeral_start}");
}

/// The last `lines` lines of a log file.
pub(super) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub(super) fn log_file(path: &Path, banner: &str) -> File {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("a log file");
    writeln!(file, "---- {banner} ----").expect("the log file is writable");
    file
}

/// Runs `cmd` to its end; panics with its output if it fails.
pub(super) fn run(mut cmd: Command, what: &str) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The environment of one deployment's `ledgerflow` processes (the service and its CLI).
/// Every other `LEDGERFLOW_*` variable of the test's environment is removed.
#[derive(Debug, Clone)]
pub struct Env(Vec<(String, String)>);

impl Env {
    /// An event store; the read model in its database unless set; the in-process bus unless
    /// a NATS URL is set.
    pub fn new(event_store_url: &str) -> Env {
        Env(Vec::new())
            .with("LEDGERFLOW_EVENT_STORE_URL", event_store_url)
            .with("RUST_LOG", "warn")
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> Env {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_owned(), value.into()));
        self
    }

    /// The shared NATS of the tests, with the stream and subject of `bus`.
    pub fn bus(self, bus: &TestBus) -> Env {
        self.nats(&bus.url, &bus.stream, &bus.subject)
    }

    /// NATS at `url`, with this stream and subject.
    pub fn nats(self, url: &str, stream: &str, subject: &str) -> Env {
        self.with("LEDGERFLOW_NATS_URL", url)
            .with("LEDGERFLOW_NATS_STREAM", stream)
            .with("LEDGERFLOW_NATS_SUBJECT", subject)
            .with("LEDGERFLOW_NATS_CONSUMER", "projector")
    }

    /// `ledgerflow ARGS…` with this environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ledgerflow"));
        for (key, _) in std::env::vars() {
            if key.starts_with("LEDGERFLOW_") {
                cmd.env_remove(key);
            }
        }
        cmd.envs(self.0.iter().map(|(k, v)| (k, v))).args(args);
        cmd
    }

    /// `ledgerflow apps create NAME`: the new app's API key.
    pub fn create_app(&self, name: &str) -> String {
        let out = run(
            self.command(&["apps", "create", name]),
            "ledgerflow apps create",
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let key = stdout.lines().last().unwrap_or_default().trim();
        assert!(key.starts_with("lf_"), "no API key in: {stdout}");
        key.to_owned()
    }

    /// Polls `ledgerflow verify` until it exits 0 (the read model equals the event store and
    /// the books sum to zero); panics with its last report after `within`.
    pub async fn converged(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let cmd = self.command(&["verify"]);
            let out = tokio::task::spawn_blocking(move || {
                let mut cmd = cmd;
                cmd.stdin(Stdio::null()).output()
            })
            .await
            .expect("the verify task")
            .expect("ledgerflow verify runs");
            if out.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the read model did not converge within {within:?}: ledgerflow verify {}:\n{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
