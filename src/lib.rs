//! ledgerflow: a credit ledger service.
//!
//! A newcomer's map, from the top down (each module imports only ones below it):
//! - `server` wires everything together; `config` is the command line.
//! - `api/`: HTTP only. Writes go through `workflow::Workflow`, reads through `query`.
//! - `dashboard`: the auditor's page at `/dashboard`, static files that read the API.
//! - `workflow/`: the one write path: group commit, then load → decide → write → commit.
//! - `projection/`: the outbox relay and the projector that build the read model, and the
//!   read model's rebuild and verify. `query/`: the API's reads.
//! - `apps`: the tenants, their API keys and catalogs. `webhooks/`: the apps' webhooks and
//!   the dispatcher that sends their events, signed.
//! - `store/`: the event store: persistence only. `bus/`: the messages between the event
//!   store and the projector, and NATS JetStream.
//! - `ledger/`: the pure core: the entry state machine, the codes, request checks, the
//!   batch decision, the hash chain. No I/O; everything above uses its types.
//! - `decimal`, `time`, `hex`, `metrics`: money as stored, times, digests as text,
//!   Prometheus metrics.
//!
//! The catalog types live in the `operations` crate, the tables in `entity` and `migration`.

pub mod api;
pub mod apps;
pub mod bus;
pub mod config;
pub mod dashboard;
pub mod decimal;
pub mod hex;
pub mod ledger;
pub mod metrics;
pub mod projection;
pub mod query;
pub mod server;
pub mod store;
pub mod time;
pub mod webhooks;
pub mod workflow;

#[cfg(test)]
mod test_log;
