//! A PostgreSQL cluster of a test's own.

use super::{free_port, run, tail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use tempfile::TempDir;

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
