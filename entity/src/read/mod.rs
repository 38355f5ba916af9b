//! The read model: what the projector builds from the event stream and the query endpoints
//! read. Every table here can be dropped and rebuilt from the event store (`ledgerflow
//! rebuild`). Table names carry an `rm_` prefix so that the read model can share the event
//! store's database (the embedded default) without a clash.

pub mod account;
pub mod app_event;
pub mod checkpoint;
pub mod entry;
pub mod event_floor;
pub mod hold;
pub mod lot;
pub mod parked;
pub mod posting;
pub mod reversal;
