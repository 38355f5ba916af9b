//! SeaORM entities of ledgerflow.
//!
//! Event store (append-only: rows are inserted, never updated or deleted):
//! - [`entry`]: one row per recorded entry, the request as it was accepted;
//! - [`entry_event`]: the workflow transitions of an entry, one row per write;
//! - [`posting`]: one row per account event `(account, version)`, with `balance_after`;
//! - [`allocation`]: one row per lot an entry drew from, with `remaining_after`;
//! - [`app_event`]: the events an app is told of, numbered per app (pruned after the
//!   retention: they are the app's feed, not the ledger's record).
//!
//! Bookkeeping beside the events, derivable from them:
//! - [`account`]: the head of each account (balance and version of its last posting);
//! - [`lot`]: each credit lot, with what is left of it;
//! - [`hold`]: each hold, the lots' parts it reserves, and how it ended;
//! - [`reversal`]: what has been reversed of an entry, and by which entries;
//! - [`event_seq`]: the last event number given per app;
//! - [`monitor`]: balance monitors and which side of their threshold they last saw;
//! - [`usage`]: per-owner, per-operation counters for limits and cooldowns;
//! - [`pending_entry`]: entries accepted asynchronously that have not finished yet;
//! - [`outbox`]: messages written with the events they carry (a row per batch), until the
//!   bus has them;
//! - [`app`]: the apps, their catalogs and rate limits; [`api_key`]: their hashed API keys;
//!   [`rate_bucket`]: each app's rate-limit tokens, shared by the instances;
//! - [`webhook`]: the apps' webhooks, with their fan-out cursor and delivery lease;
//!   [`webhook_delivery`]: each event's delivery to a webhook, with its attempts.
//!
//! The read model ([`read`]) is separate: built by the projector, dropped and rebuilt at will.
//!
//! Two storage rules hold on every backend:
//! - money is canonical decimal text (`"12345678901234567.89"`), because SQLite would store a
//!   decimal as REAL and lose digits; arithmetic happens in Rust with `rust_decimal`;
//! - times are `i64` microseconds since the Unix epoch (UTC), which compare and index the
//!   same way on SQLite, PostgreSQL and CockroachDB.

pub mod account;
pub mod allocation;
pub mod api_key;
pub mod app;
pub mod app_event;
pub mod entry;
pub mod entry_event;
pub mod event_seq;
pub mod hold;
pub mod lot;
pub mod monitor;
pub mod outbox;
pub mod pending_entry;
pub mod posting;
pub mod rate_bucket;
pub mod read;
pub mod reversal;
pub mod usage;
pub mod webhook;
pub mod webhook_delivery;
