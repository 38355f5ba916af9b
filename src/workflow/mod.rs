//! The entry workflow: `received → validating → nonce_check → balance_check → processing →
//! completed | failed`.
//!
//! - [`request`]: the stateless half of validating (operation, amount, ids); a refusal
//!   there is a 4xx and records nothing.
//! - [`apply`]: everything that depends on the ledger's state, decided in memory for a
//!   batch of commands in order.
//! - [`processor`]: group commit: commands that arrive while a batch commits form the next.
//! - [`state`]: the state machine itself.

pub mod apply;
pub mod chain;
mod command;
pub mod processor;
mod record;
pub mod request;
pub mod state;

pub use apply::usage_keys;
pub use command::{Command, Outcome, account_id};
pub use processor::{BatchConfig, Settled, Workflow, WorkflowError};
pub use record::EntryRecord;
pub use request::{EntryRequest, Rejection};
pub use state::EntryState;
