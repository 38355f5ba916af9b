//! ledgerflow: a credit ledger service.
//!
//! A newcomer's map: `workflow/` is the entry state machine and the batching processor,
//! `store/` the event store, `projection/` the outbox relay and the projector that build
//! the read model, `bus` the NATS JetStream connection between them, `query/` the reads of
//! the read model, `api/` the HTTP layer, `apps` the tenants and their keys, `server` wires
//! them together. The catalog types live in the `operations` crate and the
//! tables in `entity` and `migration`.

pub mod api;
pub mod apps;
pub mod bench;
pub mod bus;
pub mod config;
pub mod metrics;
pub mod projection;
pub mod query;
pub mod server;
pub mod store;
pub mod time;
pub mod workflow;
