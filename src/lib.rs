//! ledgerflow: a credit ledger service.
//!
//! A newcomer's map: `workflow/` is the entry state machine and the batching processor,
//! `store/` the event store, `api/` the HTTP layer, `apps` the tenants and their keys,
//! `server` wires them together. The catalog types live in the `operations` crate and the
//! tables in `entity` and `migration`.

pub mod api;
pub mod apps;
pub mod bench;
pub mod config;
pub mod server;
pub mod store;
pub mod time;
pub mod workflow;
