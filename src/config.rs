//! Command line and configuration. Every setting has an environment variable, shown in
//! README's configuration table; a flag given on the command line wins over it.

use crate::workflow::BatchConfig;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "ledgerflow", version, about = "A credit ledger service")]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    /// What to do; `serve` when left out.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Bring the event store's schema up to date and exit.
    Migrate,
    /// Drive a running service's HTTP API and report entries/s and latency.
    Bench(crate::bench::BenchArgs),
    /// Manage apps and their API keys.
    Apps {
        #[command(subcommand)]
        command: AppsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppsCommand {
    /// Create an app; prints its API key alone on the last line (only a hash is stored).
    Create {
        /// 1 to 64 of a-z, A-Z, 0-9, - and _.
        name: String,
    },
    /// Register an app's own catalog extension (a TOML file), replacing the previous one.
    Operations { name: String, file: PathBuf },
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Event store: sqlite://FILE, or postgres://… for PostgreSQL and CockroachDB.
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_EVENT_STORE_URL",
        default_value = "sqlite://ledgerflow.db"
    )]
    pub event_store_url: String,

    /// Catalog extension files layered over the base catalog, in order (comma-separated).
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_OPERATIONS",
        value_delimiter = ','
    )]
    pub operations: Vec<PathBuf>,

    /// Address the HTTP API listens on.
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: String,

    /// Most entries committed in one transaction.
    #[arg(long, global = true, env = "LEDGERFLOW_BATCH_MAX", default_value_t = 512,
          value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub batch_max: u16,

    /// Microseconds a batch that is not full may wait for more entries (0: no wait).
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_BATCH_WAIT_US",
        default_value_t = 0
    )]
    pub batch_wait_us: u64,
}

impl Config {
    /// The defaults, with the event store at `url` (for tests and embedding).
    pub fn with_store(url: &str) -> Config {
        let cli = Cli::parse_from(["ledgerflow", "--event-store-url", url]);
        cli.config
    }

    pub fn batch(&self) -> BatchConfig {
        BatchConfig {
            max_size: usize::from(self.batch_max),
            max_wait: Duration::from_micros(self.batch_wait_us),
        }
    }
}
