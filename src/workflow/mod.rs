//! The entry workflow: how an entry runs through `received → validating → nonce_check →
//! balance_check → processing → completed | failed`, with the ledger's pure core
//! (`crate::ledger`) deciding and the store (`crate::store`) persisting.
//!
//! - [`Workflow`] (here): the handle the API writes through: submit (sync), receive (async),
//!   resume (after a restart).
//! - [`processor`]: group commit: commands that arrive while a batch commits form the next.
//! - [`claims`]: whether a batch reads its nonces first or lets its insert claim them.
//! - [`expiry`]: the recorder that writes each lot's expiry once its instant has come.
//! - [`transaction`]: one batch: load → decide → write → outbox or inline projection →
//!   commit, retried whole.

pub mod claims;
pub mod expiry;
mod processor;
pub mod transaction;

pub use processor::{BatchConfig, Settled, WorkflowError};

use crate::apps::Apps;
use crate::ledger::command::Command;
use crate::metrics::Metrics;
use crate::projection::projector::Projector;
use crate::store::{Claimed, Store, StoreError};
use crate::time::now_micros;
use std::sync::Arc;
use uuid::Uuid;

/// The handle through which entries are written. Cheap to clone.
#[derive(Clone)]
pub struct Workflow {
    queue: processor::Queue,
    store: Store,
}

impl Workflow {
    /// Starts the batching processor (see [`processor`]). The processor ends when every
    /// handle to the workflow is dropped.
    pub async fn start(
        store: &Store,
        config: BatchConfig,
        inline: Option<Projector>,
        metrics: Arc<Metrics>,
    ) -> Result<Workflow, StoreError> {
        Ok(Workflow {
            queue: processor::start(store, config, inline, metrics).await?,
            store: store.clone(),
        })
    }

    /// Whether the batching processor still runs (it ends only if its task or thread did).
    pub fn is_running(&self) -> bool {
        !self.queue.is_closed()
    }

    /// Adds a balance monitor: batches that touch its account decide its events from then
    /// on.
    pub async fn add_monitor(&self, row: &entity::monitor::Model) -> Result<(), StoreError> {
        self.store.add_monitor(row).await
    }

    /// Removes `app`'s monitor `id`; false if it has none such.
    pub async fn remove_monitor(&self, app: Uuid, id: Uuid) -> Result<bool, StoreError> {
        self.store.remove_monitor(app, id).await
    }

    /// Runs a request through the workflow and waits for its outcome (sync entries).
    pub async fn submit(&self, cmd: Command) -> Result<Settled, WorkflowError> {
        processor::submit(&self.queue, cmd).await
    }

    /// Stores an async request durably as `received` and finishes it in the background;
    /// its nonce is claimed now, so a repeat is a replay (or `nonce_reused`) at once.
    pub async fn receive(&self, mut cmd: Command) -> Result<Settled, WorkflowError> {
        let received = cmd.received_record();
        let outbox = transaction::outbox_rows([&received], now_micros())?;
        match self.store.receive(&received, &outbox).await? {
            Claimed::Stored => {
                cmd.stored = true;
                self.finish_in_background(cmd);
                Ok(Settled::Recorded(received))
            }
            Claimed::Existing {
                entry_id,
                request_hash,
            } => self.first_answer(&cmd, entry_id, &request_hash).await,
        }
    }

    /// The answer `cmd`'s nonce got first, when the nonce is taken: a replay of it, or
    /// `nonce_reused` for a different request. `None` when the nonce is unused. It reads;
    /// it records nothing (a request over its app's rate learns its first outcome so).
    pub async fn answered(&self, cmd: &Command) -> Result<Option<Settled>, WorkflowError> {
        let holder = self
            .store
            .nonce_holder(cmd.app_id, cmd.nonce.as_str())
            .await?;
        match holder {
            Some((entry_id, request_hash)) => {
                Ok(Some(self.first_answer(cmd, entry_id, &request_hash).await?))
            }
            None => Ok(None),
        }
    }

    async fn first_answer(
        &self,
        cmd: &Command,
        entry_id: Uuid,
        request_hash: &str,
    ) -> Result<Settled, WorkflowError> {
        if request_hash != cmd.request_hash {
            return Ok(Settled::NonceReused(entry_id));
        }
        let record = self
            .store
            .entry(cmd.app_id, entry_id)
            .await?
            .ok_or_else(|| {
                StoreError::Corrupt(format!("entry {entry_id} holds a nonce but cannot be read"))
            })?;
        Ok(Settled::Replay(record))
    }

    /// Hands every entry an earlier run left `received` (async entries in flight at a
    /// crash or a stop) to the workflow again; returns how many.
    pub async fn resume(&self, apps: &Apps) -> Result<usize, WorkflowError> {
        let pending = self.store.pending_entries().await?;
        if !pending.is_empty() {
            tracing::info!(count = pending.len(), "resuming unfinished async entries");
        }
        let mut resumed = 0;
        for row in pending {
            let (id, operation) = (row.id, row.operation.clone());
            let Some(app) = apps.by_id(row.app_id).await? else {
                tracing::error!(entry_id = %id, "pending entry of an app that does not exist");
                continue;
            };
            // Left pending, not dropped, when its operation is gone: it resumes once the
            // operation is back.
            let Some(op) = app.catalog.get(&operation).cloned() else {
                tracing::error!(entry_id = %id, %operation, "pending entry's operation is no longer in the app's catalog; left pending");
                continue;
            };
            match Command::resume(row, op) {
                Ok(cmd) => {
                    self.finish_in_background(cmd);
                    resumed += 1;
                }
                Err(e) => tracing::error!(entry_id = %id, error = %e, "cannot resume"),
            }
        }
        Ok(resumed)
    }

    /// Finishes a stored async entry. If this does not get through, the entry stays
    /// pending and is resumed at the next start.
    fn finish_in_background(&self, cmd: Command) {
        let queue = self.queue.clone();
        tokio::spawn(async move {
            let id = cmd.entry_id;
            if let Err(e) = processor::submit(&queue, cmd).await {
                tracing::warn!(entry_id = %id, error = %e, "async entry left pending");
            }
        });
    }
}

/// A valid command of the base catalog for `app`, sent with its API key `key`: what the
/// workflow's tests post.
#[cfg(test)]
pub(crate) fn test_command(
    app: Uuid,
    key: Uuid,
    operation: &str,
    owner: &str,
    nonce: &str,
    amount: &str,
) -> Command {
    let mut command = crate::ledger::request::EntryRequest {
        operation: operation.into(),
        owner_id: owner.into(),
        nonce: nonce.into(),
        amount: Some(amount.into()),
        ..Default::default()
    }
    .validate(app, &operations::Catalog::base(), now_micros(), false)
    .expect("a valid request");
    command.key_id = Some(key);
    command
}
