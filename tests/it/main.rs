//! The integration tests: one binary, a module per area. They drive the service over HTTP
//! (in process, or as real processes in `faults` and `cli`) against real PostgreSQL and
//! NATS JetStream, each test on databases and a stream of its own; `common` is the harness.

#[macro_use]
mod common;

mod audit;
mod backup;
mod batching;
mod cli;
mod controls;
mod dashboard;
mod entries;
mod events;
mod faults;
mod history;
mod holds;
mod hostile;
mod keys;
mod ledger;
mod lots;
mod projection;
mod rate_limits;
mod read_model;
mod readiness;
mod reversals;
mod spec;
mod webhooks;
