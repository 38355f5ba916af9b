//! What the workflow is asked to do, and what it answers.

use super::record::EntryRecord;
use super::state::EntryState;
use entity::{entry, entry_event};
use operations::Operation;
use rust_decimal::Decimal;
use std::sync::Arc;
use uuid::Uuid;

/// A request that passed the stateless checks (operation known and enabled, amount fitting
/// the operation, owner and counterparty well-formed). Everything else is the workflow's.
#[derive(Debug, Clone)]
pub struct Command {
    pub entry_id: Uuid,
    pub app_id: Uuid,
    pub nonce: String,
    /// SHA-256 of the canonical request; equal hashes mean the same request.
    pub request_hash: String,
    pub operation: Arc<Operation>,
    pub owner_id: String,
    pub counterparty_id: Option<String>,
    /// Already resolved by the operation's amount rule and rescaled to the asset's scale.
    pub amount: Decimal,
    /// Canonical JSON text.
    pub metadata: Option<String>,
    pub is_async: bool,
    pub received_at: i64,
    /// The entry row and its `received` event are already stored (an async entry that the
    /// workflow now finishes); its nonce is claimed by that row.
    pub stored: bool,
    /// The API key the request came with, when the workflow must still check it has not
    /// been revoked (the sync path checks it once per batch instead of once per request).
    pub key_id: Option<Uuid>,
}

impl Command {
    /// The entry row this command records; the same for the sync path, the async path and
    /// a resumed entry, so that every read of the entry shows the same thing.
    pub fn entry_row(&self) -> entry::Model {
        entry::Model {
            id: self.entry_id,
            app_id: self.app_id,
            nonce: self.nonce.clone(),
            request_hash: self.request_hash.clone(),
            operation: self.operation.name.clone(),
            owner_id: self.owner_id.clone(),
            counterparty_id: self.counterparty_id.clone(),
            asset: self.operation.asset.clone(),
            amount: self.amount.to_string(),
            metadata: self.metadata.clone(),
            is_async: self.is_async,
            created_at: self.received_at,
        }
    }

    /// The record of this command's entry as an async request first stores it: the entry
    /// row and its `received` transition.
    pub fn received_record(&self) -> EntryRecord {
        EntryRecord {
            entry: self.entry_row(),
            events: vec![entry_event::Model {
                entry_id: self.entry_id,
                seq: 0,
                state: EntryState::Received.as_str().to_owned(),
                at: self.received_at,
                failure_code: None,
                failure_detail: None,
                earlier: None,
            }],
            postings: Vec::new(),
        }
    }

    /// The account on the other side of the owner's: the operation's counter-account, or the
    /// counterparty of a transfer.
    pub fn other_owner(&self) -> &str {
        self.operation
            .counter_account
            .as_deref()
            .or(self.counterparty_id.as_deref())
            .unwrap_or_default()
    }
}

/// The id of account `(app, owner, asset)`: a UUIDv5, so every instance derives the same id
/// without a lookup and an account row can be created by whichever writer comes first.
pub fn account_id(app_id: Uuid, owner_id: &str, asset: &str) -> Uuid {
    let name = format!("{asset}\u{0}{owner_id}");
    Uuid::new_v5(&app_id, name.as_bytes())
}

/// What the workflow did with one command.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Recorded now, completed or failed.
    Recorded(Box<EntryRecord>),
    /// The nonce belongs to an earlier entry of this same request: answer with that entry.
    Replay(Uuid),
    /// The nonce belongs to an earlier entry of a different request.
    NonceReused(Uuid),
}

impl Command {
    /// The command that finishes a stored async entry, from its row and its operation.
    pub fn resume(row: entry::Model, operation: Operation) -> Result<Command, String> {
        let amount = super::apply::stored_decimal(&row.amount)?;
        Ok(Command {
            entry_id: row.id,
            app_id: row.app_id,
            nonce: row.nonce,
            request_hash: row.request_hash,
            operation: Arc::new(operation),
            owner_id: row.owner_id,
            counterparty_id: row.counterparty_id,
            amount,
            metadata: row.metadata,
            is_async: row.is_async,
            received_at: row.created_at,
            stored: true,
            key_id: None,
        })
    }
}
