//! Real processes for the fault tests: the `ledgerflow` binary, a NATS server and a
//! PostgreSQL cluster of a test's own. Each can be stopped (SIGKILL, or an immediate
//! shutdown for PostgreSQL) and started again on the same port and data, and is stopped
//! when dropped. A test that panics prints the tail of each process's log.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tempfile::TempDir;

use super::bus::TestBus;

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
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn log_file(path: &Path, banner: &str) -> File {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("a log file");
    writeln!(file, "---- {banner} ----").expect("the log file is writable");
    file
}

/// Runs `cmd` to its end; panics with its output if it fails.
fn run(mut cmd: Command, what: &str) -> Output {
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
        let client = reqwest::Client::builder()
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

/// Whether this process runs as root, where initdb and postgres must run as `postgres`.
fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        let mut id = Command::new("id");
        id.arg("-u");
        let out = run(id, "id -u");
        String::from_utf8_lossy(&out.stdout).trim() == "0"
    })
}

/// A PostgreSQL cluster of a test's own (the newest version under /usr/lib/postgresql),
/// in a temporary directory, on a port of its own, trust authentication for `postgres`.
/// `fsync=off`: it is a test database, and a stop here is a process stop, not a power cut.
pub struct PgCluster {
    pub port: u16,
    bin: PathBuf,
    dir: TempDir,
    running: bool,
}

impl PgCluster {
    /// initdb, then start.
    pub fn start() -> PgCluster {
        let bin = Self::binaries();
        // Under /tmp: the socket path must stay short. Open to all: initdb runs as postgres.
        let dir = tempfile::Builder::new()
            .prefix("lf-pg-")
            .tempdir_in("/tmp")
            .expect("a directory for the cluster");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod 777 the cluster's directory");
        let mut cluster = PgCluster {
            port: free_port(),
            bin,
            dir,
            running: false,
        };
        let mut initdb = cluster.tool("initdb");
        initdb.arg("-D").arg(cluster.data()).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        run(initdb, "initdb");
        cluster.resume();
        cluster
    }

    fn binaries() -> PathBuf {
        let root = Path::new("/usr/lib/postgresql");
        let newest = std::fs::read_dir(root)
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let version = e.file_name().to_str()?.parse::<u32>().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").is_file().then_some((version, bin))
            })
            .max();
        match newest {
            Some((_, bin)) => bin,
            None => panic!(
                "these tests need PostgreSQL's server binaries (initdb, pg_ctl) under \
                 {}/<version>/bin",
                root.display()
            ),
        }
    }

    /// A PostgreSQL tool, run as `postgres` when this process is root.
    fn tool(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        let mut cmd = if is_root() {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        };
        // The postgres user may not be allowed into the test's working directory.
        cmd.current_dir(self.dir.path());
        cmd
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the stopped cluster on its port and waits until it accepts connections.
    pub fn resume(&mut self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let mut start = self.tool("pg_ctl");
        start
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.log())
            .args(["-w", "-t", "30", "-o", &options, "start"]);
        let out = start.stdin(Stdio::null()).output().expect("pg_ctl runs");
        assert!(
            out.status.success(),
            "pg_ctl start failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            tail(&self.log(), 30)
        );
        self.running = true;
    }

    /// Stops the cluster at once (`pg_ctl stop -m immediate`: every connection dropped, no
    /// checkpoint, like a crash of the server process).
    pub fn stop(&mut self) {
        let mut stop = self.tool("pg_ctl");
        stop.arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"]);
        run(stop, "pg_ctl stop");
        self.running = false;
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "postgres (last lines of its log):\n{}",
                tail(&self.log(), 30)
            );
        }
        if self.running {
            let mut stop = self.tool("pg_ctl");
            stop.arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"]);
            let _ = stop.stdin(Stdio::null()).output();
        }
    }
}
