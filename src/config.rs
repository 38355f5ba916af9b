//! The service's configuration ([`Config`]). Every setting has an environment variable,
//! shown in README's configuration table; a flag given on the command line wins over it.
//! The sub-commands are in `config/cli.rs`.

use crate::api::listener::ConnectionLimits;
use crate::apps::Rate;
use crate::bus::NatsConfig;
use crate::webhooks::{Backoff, WebhookConfig};
use crate::workflow::BatchConfig;
use clap::{Args, Parser as _};
use std::path::PathBuf;
use std::time::Duration;

mod cli;
pub use cli::{AppsCommand, Cli, CliCommand};

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

    /// Read model: postgres://… (PostgreSQL), or sqlite://FILE; the event store's database
    /// when left out.
    #[arg(long, global = true, env = "LEDGERFLOW_READ_MODEL_URL")]
    pub read_model_url: Option<String>,

    /// NATS with JetStream (nats://HOST:PORT) between the outbox relay and the projector;
    /// an in-process hand-over when left out.
    #[arg(long, global = true, env = "LEDGERFLOW_NATS_URL")]
    pub nats_url: Option<String>,

    /// JetStream stream of the ledger's events.
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_NATS_STREAM",
        default_value = "LEDGERFLOW_EVENTS"
    )]
    pub nats_stream: String,

    /// Subject prefix of the stream: it holds `<prefix>.>`, entries go to `<prefix>.entries`.
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_NATS_SUBJECT",
        default_value = "ledgerflow.events"
    )]
    pub nats_subject: String,

    /// Durable consumer of the projector, shared by every instance.
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_NATS_CONSUMER",
        default_value = "projector"
    )]
    pub nats_consumer: String,

    /// Whether this instance runs the outbox relay and the projector.
    #[arg(long, global = true, env = "LEDGERFLOW_PROJECTOR", default_value_t = true,
          action = clap::ArgAction::Set)]
    pub projector: bool,

    /// Longest a read with `min_version` waits for the read model, in milliseconds.
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_READ_WAIT_MS",
        default_value_t = 5_000
    )]
    pub read_wait_ms: u64,

    /// Most reads of one app that may wait for the read model at once (`min_version`).
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_MAX_HELD_READS",
        default_value_t = 100
    )]
    pub max_held_reads: usize,

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

    /// Milliseconds a client has to send a whole request head, counted from when the server
    /// starts waiting for it (a new connection, or the last answer on a kept-alive one).
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_HEAD_TIMEOUT_MS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub head_timeout_ms: u64,

    /// Milliseconds a connection may move no byte before it is closed.
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_IDLE_TIMEOUT_MS",
        default_value_t = 60_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub idle_timeout_ms: u64,

    /// Most connections open at once; past it a new connection is closed as it is accepted.
    /// Keep it under the process's file-descriptor limit (`ulimit -n`).
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_MAX_CONNECTIONS",
        default_value_t = 10_000
    )]
    pub max_connections: usize,

    /// Most connections open at once from one client IP address.
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 1_000
    )]
    pub max_connections_per_address: usize,

    /// Each app's rate limit unless `apps limits` gave it its own: requests per second, on
    /// average over every instance (0: no limit).
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_RATE_LIMIT_RPS",
        default_value_t = 10_000
    )]
    pub rate_limit_rps: u32,

    /// Requests an app may send at once above its rate (the default's burst).
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_RATE_LIMIT_BURST",
        default_value_t = 20_000,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub rate_limit_burst: u32,

    /// Seconds a stop (SIGTERM, Ctrl-C) may take: to answer the requests already accepted,
    /// then to hand the outbox to the bus.
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_SHUTDOWN_GRACE_SECS",
        default_value_t = 20
    )]
    pub shutdown_grace_secs: u64,

    /// Days an app's events are kept for the feed and the stream (`GET /v1/events`); older
    /// ones are pruned hourly.
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_EVENT_RETENTION_DAYS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=36_500)
    )]
    pub event_retention_days: u64,

    /// Whether this instance records lots' expiries (any number of instances may; each
    /// expiry is recorded once).
    #[arg(long, global = true, env = "LEDGERFLOW_RECORD_EXPIRIES", default_value_t = true,
          action = clap::ArgAction::Set)]
    pub record_expiries: bool,

    /// Microseconds a batch that is not full may wait for more entries (0: no wait).
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_BATCH_WAIT_US",
        default_value_t = 0
    )]
    pub batch_wait_us: u64,

    /// Threads that serve HTTP and run the background tasks (the batch writer has a thread
    /// of its own). Default: one fewer than the cores, at least one, where the read model
    /// is in the event store's database; every core with a read model of its own, whose
    /// relay and projector run on them too.
    #[arg(long, global = true, env = "LEDGERFLOW_WORKERS",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub workers: Option<u16>,

    /// Whether webhook URLs may name or resolve to loopback, private, link-local and other
    /// internal addresses (for receivers inside the network, and tests).
    #[arg(long, global = true, env = "LEDGERFLOW_WEBHOOK_ALLOW_PRIVATE", default_value_t = false,
          action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,

    /// Seconds a webhook delivery is retried from its first attempt before it is given up
    /// and its webhook disabled.
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_WEBHOOK_GIVE_UP_SECS",
        default_value_t = 86_400,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub webhook_give_up_secs: u64,

    /// Milliseconds before a failed webhook attempt's first retry; each next wait doubles.
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_WEBHOOK_BACKOFF_BASE_MS",
        default_value_t = 1_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub webhook_backoff_base_ms: u64,

    /// Longest wait between two attempts of a webhook delivery, in milliseconds.
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_WEBHOOK_BACKOFF_CAP_MS",
        default_value_t = 3_600_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub webhook_backoff_cap_ms: u64,

    /// Milliseconds an instance holds a webhook's delivery lease once taken or renewed; an
    /// instance that dies holds it this long. An attempt times out after three fifths of it
    /// if that is less than 10 s.
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_WEBHOOK_LEASE_MS",
        default_value_t = 30_000,
        value_parser = clap::value_parser!(u64).range(500..)
    )]
    pub webhook_lease_ms: u64,

    /// Milliseconds between two looks for a webhook's new events.
    #[arg(
        long,
        global = true,
        env = "LEDGERFLOW_WEBHOOK_POLL_MS",
        default_value_t = 250,
        value_parser = clap::value_parser!(u64).range(10..)
    )]
    pub webhook_poll_ms: u64,
}

impl Config {
    /// The defaults, with the event store at `url` (for tests and embedding).
    pub fn with_store(url: &str) -> Config {
        let cli = Cli::parse_from(["ledgerflow", "--event-store-url", url]);
        cli.config
    }

    /// The JetStream settings, when a NATS URL is set.
    pub fn nats(&self) -> Option<NatsConfig> {
        self.nats_url.as_ref().map(|url| NatsConfig {
            url: url.clone(),
            stream: self.nats_stream.clone(),
            subject: self.nats_subject.clone(),
            consumer: self.nats_consumer.clone(),
        })
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            head_timeout: Duration::from_millis(self.head_timeout_ms),
            idle_timeout: Duration::from_millis(self.idle_timeout_ms),
            max_connections: self.max_connections,
            max_connections_per_address: self.max_connections_per_address,
        }
    }

    /// The rate of an app that has none of its own.
    pub fn default_rate(&self) -> Rate {
        Rate {
            per_second: self.rate_limit_rps,
            burst: self.rate_limit_burst,
        }
    }

    pub fn read_wait(&self) -> Duration {
        Duration::from_millis(self.read_wait_ms)
    }

    pub fn webhooks(&self) -> WebhookConfig {
        WebhookConfig {
            allow_private: self.webhook_allow_private,
            backoff: Backoff {
                base: Duration::from_millis(self.webhook_backoff_base_ms),
                cap: Duration::from_millis(self.webhook_backoff_cap_ms),
                give_up: Duration::from_secs(self.webhook_give_up_secs),
            },
            lease: Duration::from_millis(self.webhook_lease_ms),
            poll: Duration::from_millis(self.webhook_poll_ms),
        }
    }

    /// The worker threads to start on a machine with `cores` cores (see the field).
    pub fn workers(&self, cores: usize) -> usize {
        match (self.workers, &self.read_model_url) {
            (Some(n), _) => usize::from(n),
            // The batch writer's chain of round trips sets the rate, and it waits for a core
            // each time it is woken: a core the workers leave to it is worth more than a
            // second worker (BENCHMARKS.md, session 16).
            (None, None) => cores.saturating_sub(1).max(1),
            (None, Some(_)) => cores.max(1),
        }
    }

    pub fn batch(&self) -> BatchConfig {
        BatchConfig {
            max_size: usize::from(self.batch_max),
            max_wait: Duration::from_micros(self.batch_wait_us),
        }
    }
}

#[cfg(test)]
mod tests;
