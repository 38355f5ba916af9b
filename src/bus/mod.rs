//! What carries committed entries from the event store to the projector.
//!
//! - [`message`]: the entry message, and how the outbox packs messages into rows and
//!   splits them back.
//! - [`nats`]: NATS JetStream, the bus of the distributed mode: the stream, the projector's
//!   consumer, publishing `(Nats-Msg-Id, body)` pairs. (Without `LEDGERFLOW_NATS_URL` the
//!   relay hands messages to the projector in process; see `projection::relay`.)

pub mod message;
pub mod nats;

pub use message::EntryMessage;
pub use nats::{BusError, Nats, NatsConfig};
