//! The command line: the `ledgerflow` binary's sub-commands and their arguments. The
//! service's settings, flags and environment variables alike, are [`super::Config`].

use super::Config;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "ledgerflow", version, about = "A credit ledger service")]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    /// What to do; `serve` when left out.
    #[command(subcommand)]
    pub command: Option<CliCommand>,
}

/// The sub-commands of the `ledgerflow` binary (not to be confused with
/// `ledger::Command`, a request on its way through the workflow).
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Serve the HTTP API (the default).
    Serve,
    /// Bring the schemas of the event store and the read model up to date and exit.
    Migrate,
    /// Drop the read model and rebuild it from the event store.
    Rebuild,
    /// Compare the read model with the event store. Exit 0: equal; 2: the read model is
    /// behind but a consistent prefix of the event store; 1: a difference.
    Verify {
        /// First wait up to this many seconds for the outbox and the bus to drain.
        #[arg(long, value_name = "SECONDS")]
        wait: Option<u64>,
    },
    /// Write a consistent copy of the embedded (SQLite) event store, with its read model, to
    /// FILE (which must not exist), while the service runs.
    Backup { file: PathBuf },
    /// Put a backup FILE in place of the embedded event store (the service stopped), then
    /// migrate it.
    Restore { file: PathBuf },
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
    /// Add a key to an app (printed alone on the last line); its other keys keep working
    /// until revoked.
    Rotate { name: String },
    /// Revoke one key of an app (--key ID), or all of them; refused from the next request.
    Revoke {
        name: String,
        /// The key's id, as `apps keys` lists it.
        #[arg(long)]
        key: Option<uuid::Uuid>,
    },
    /// List an app's keys: id, created, revoked.
    Keys { name: String },
    /// Register an app's own catalog extension (a TOML file), replacing the previous one.
    Operations { name: String, file: PathBuf },
    /// Set an app's own rate limit (--rps, --burst), give it the service's default again
    /// (--default), or, with neither, show it.
    Limits {
        name: String,
        /// Requests per second, on average over every instance; 0 is no limit.
        #[arg(long, conflicts_with = "default")]
        rps: Option<u32>,
        /// Requests at once above the average; the rate's one second's worth when left out.
        #[arg(long, requires = "rps", value_parser = clap::value_parser!(u32).range(1..))]
        burst: Option<u32>,
        /// Drop the app's own limit: the service's default applies again.
        #[arg(long)]
        default: bool,
    },
}
