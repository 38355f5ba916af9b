//! The ledger's pure core: what an entry is, how it moves through its states, and what the
//! ledger decides for a batch of them. No I/O, no clock of its own: everything here is a
//! function of its arguments, tested given/when/then without a database.
//!
//! - [`state`]: the state machine, one enum and its one transition function.
//! - [`codes`]: every refusal and failure code, with its class.
//! - [`request`]: the stateless half of validating (operation, amount, ids); a refusal there
//!   records nothing. [`command`]: what passed it, in checked types.
//! - [`decide`]: everything that depends on the ledger's state, decided in memory for a
//!   batch of commands in order; [`limits`]: cooldowns and caps.
//! - [`lots`]: credit lots, their drawdown order and expiry; [`closing`]: the ledger's own
//!   commands that expire or void a lot.
//! - [`holds`]: holds, what they reserve and how they end; [`hold_request`]: the commands
//!   that place, capture, void or expire one.
//! - [`monitors`]: balance monitors, and when they fire.
//! - [`account`]: account controls (freeze, unfreeze, close) and what each status refuses.
//! - [`reversal`]: what a reversal of an entry knows of it, and where its value goes back.
//! - [`app_events`]: what each recorded entry announces to its app.
//! - [`chain`]: the postings' hash chain. [`record`]: an entry as stored; [`transitions`]:
//!   how a list holds its transitions.
//!
//! Everything that runs an entry (the batching processor, the transaction, the handle the
//! API writes through) is `crate::workflow`, above this and the store.

pub mod account;
pub mod app_events;
pub mod chain;
pub mod closing;
pub mod codes;
pub mod command;
pub mod decide;
pub mod hold_request;
pub mod holds;
pub mod limits;
pub mod lots;
pub mod monitors;
pub mod record;
pub mod request;
pub mod reversal;
pub mod state;
pub mod transitions;

pub use codes::{Class, Code, Refusal};
pub use command::{Command, account_id};
pub use record::EntryRecord;
pub use request::EntryRequest;
pub use state::EntryState;
