//! Writing: a batch's transaction ([`BatchWrite`]) and the claim of an async entry's nonce.
//!
//! Heads are upserted without a version check: the `(account_id, version)` primary key of
//! the postings inserted in the same transaction is the check. A writer that read a stale
//! head appends a version that exists and fails with a unique violation (or, on PostgreSQL
//! and CockroachDB, a serialization failure first), and the workflow runs its whole batch
//! again (`store::retrying`).

use super::read::nonce_holder;
use super::txn::WriteTxn;
use super::{Inserts, Store, StoreError, events};
use crate::ledger::decide::Plan;
use crate::ledger::record::EntryRecord;
use entity::{
    account, allocation, app_event, entry, entry_event, event_seq, hold, lot, monitor, outbox,
    pending_entry, posting, reversal, usage,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryTrait,
};
use std::collections::HashSet;
use uuid::Uuid;

/// A batch's write transaction: SERIALIZABLE on PostgreSQL and CockroachDB, IMMEDIATE on
/// SQLite. Its rows are built beside it ([`BatchRows`]) and sent together.
pub struct BatchWrite<'s> {
    store: &'s Store,
    pub(super) txn: WriteTxn,
    /// The outbox rows sent, handed to the relay once committed.
    outbox: Vec<outbox::Model>,
}

/// A batch's rows, built in its transaction or before it (a batch decided ahead), and
/// sent in one round trip by [`BatchWrite::send`].
pub struct BatchRows {
    inserts: Inserts,
    outbox: Vec<outbox::Model>,
}

impl Store {
    /// Opens a batch's write transaction, on the writer's own connection where it has one.
    pub async fn begin_batch(&self) -> Result<BatchWrite<'_>, StoreError> {
        let txn = match (&self.direct, self.carried_txn()) {
            (Some(direct), _) => WriteTxn::Direct(direct.begin()?),
            (None, Some(txn)) => WriteTxn::Pooled(txn),
            (None, None) => WriteTxn::Pooled(self.begin_write().await?),
        };
        Ok(BatchWrite {
            store: self,
            txn,
            outbox: Vec::new(),
        })
    }

    /// An empty set of a batch's rows, for this store's database.
    pub fn batch_rows(&self) -> BatchRows {
        let inserts = if self.direct.is_some() {
            Inserts::row_by_row()
        } else {
            Inserts::new(self.backend())
        };
        BatchRows {
            inserts,
            outbox: Vec::new(),
        }
    }
}

impl BatchRows {
    /// Adds a plan's rows: entries (with their transitions), later transitions, postings,
    /// allocations, the lots its entries grant and app events appended; the touched account
    /// heads, older lots, holds, usage windows, event numbers and monitors upserted.
    pub fn plan(&mut self, plan: &Plan) -> Result<(), StoreError> {
        let (entries, transitions) = events::fold_into_entries(&plan.entries, &plan.events)?;
        let (granted, touched) = granted_lots(plan);
        self.inserts
            .add::<entry::Entity, _>(&entries, None)?
            .add::<entry_event::Entity, _>(&transitions, None)?
            .add::<posting::Entity, _>(&plan.postings, None)?
            .add::<allocation::Entity, _>(&plan.allocations, None)?;
        let heads = OnConflict::column(account::Column::Id)
            .update_columns([
                account::Column::Balance,
                account::Column::Version,
                account::Column::UpdatedAt,
                account::Column::Hash,
                account::Column::Shortfall,
                account::Column::Status,
                account::Column::OpenHolds,
            ])
            .to_owned();
        self.inserts
            .add::<account::Entity, _>(&plan.heads, Some(heads))?;
        let usage = OnConflict::columns([
            usage::Column::AppId,
            usage::Column::OwnerId,
            usage::Column::Operation,
            usage::Column::Window,
        ])
        .update_columns([
            usage::Column::Count,
            usage::Column::Total,
            usage::Column::LastAt,
        ])
        .to_owned();
        self.inserts
            .add::<usage::Entity, _>(&plan.usage, Some(usage))?
            .add::<lot::Entity, _>(&granted, None)?
            .add::<lot::Entity, _>(&touched, Some(lot_upsert()))?
            .add::<hold::Entity, _>(&plan.holds, Some(hold_upsert()))?;
        let reversals = OnConflict::column(reversal::Column::EntryId)
            .update_columns([
                reversal::Column::Reversed,
                reversal::Column::Count,
                reversal::Column::ReversalIds,
            ])
            .to_owned();
        self.inserts
            .add::<reversal::Entity, _>(&plan.reversals, Some(reversals))?
            .add::<app_event::Entity, _>(&plan.app_events, None)?;
        let seqs = OnConflict::column(event_seq::Column::AppId)
            .update_column(event_seq::Column::Seq)
            .to_owned();
        self.inserts
            .add::<event_seq::Entity, _>(&plan.event_seqs, Some(seqs))?;
        let sides = OnConflict::column(monitor::Column::Id)
            .update_column(monitor::Column::State)
            .to_owned();
        self.inserts
            .add::<monitor::Entity, _>(&plan.monitors, Some(sides))?;
        Ok(())
    }

    /// Adds outbox rows.
    pub fn outbox(&mut self, rows: Vec<outbox::Model>) -> Result<(), StoreError> {
        self.inserts.add::<outbox::Entity, _>(&rows, None)?;
        self.outbox.extend(rows);
        Ok(())
    }

    /// The rows added so far, for a projector that adds its own.
    pub(crate) fn inserts(&mut self) -> &mut Inserts {
        &mut self.inserts
    }
}

impl BatchWrite<'_> {
    /// The transaction, for a projector whose read model has tables of its own in the
    /// event store's database: it reads there. `None` on the SQLite writer's own
    /// connection, which is opened only where the read model shares the store's tables.
    pub(crate) fn txn(&self) -> Option<&DatabaseTransaction> {
        match &self.txn {
            WriteTxn::Pooled(txn) => Some(txn),
            WriteTxn::Direct(_) => None,
        }
    }

    /// Sends `rows` and removes the pending rows of the async entries the batch finished.
    pub async fn send(
        &mut self,
        rows: BatchRows,
        finished_pending: &[Uuid],
    ) -> Result<(), StoreError> {
        self.outbox.extend(rows.outbox);
        self.txn.insert(rows.inserts).await?;
        if !finished_pending.is_empty() {
            let delete = pending_entry::Entity::delete_many()
                .filter(pending_entry::Column::EntryId.is_in(finished_pending.to_vec()))
                .build(self.txn.backend());
            self.txn.execute(delete).await?;
        }
        Ok(())
    }

    /// Commits; then hands the outbox rows it wrote to the relay, if it wrote any (with an
    /// inline projection most batches do not, and a relay woken for nothing reads the
    /// outbox for nothing). In the batch writer's store on PostgreSQL itself the same round
    /// trip begins the next batch's transaction ([`Carried`]).
    pub async fn commit(self) -> Result<(), StoreError> {
        let BatchWrite { store, txn, outbox } = self;
        match (&store.carried, txn) {
            (Some(carried), WriteTxn::Pooled(txn)) => {
                // One simple query: a COMMIT that fails skips the BEGIN, and the ROLLBACK of
                // the transaction dropped here finds none (PostgreSQL logs a warning).
                txn.execute_unprepared("COMMIT; BEGIN").await?;
                carried.put(txn);
            }
            (_, txn) => txn.commit().await?,
        }
        if !outbox.is_empty() {
            store.hand_to_relay(outbox);
        }
        Ok(())
    }
}

/// The batch writer's next transaction, begun by the batch before's commit in the same
/// round trip (`COMMIT; BEGIN`, one simple query), which the next batch takes instead of a
/// `BEGIN` of its own: one round trip fewer on the writer's chain, and its connection does
/// not go back to the pool between batches (sqlx pings every connection it takes back).
/// PostgreSQL itself only: there a transaction takes its snapshot at its first statement,
/// not at `BEGIN`, so one begun early reads what a batch begun late would. While the writer
/// waits for commands it holds none ([`Store::end_carried`]).
#[derive(Debug, Default)]
pub(crate) struct Carried(std::sync::Mutex<Option<DatabaseTransaction>>);

impl Carried {
    fn take(&self) -> Option<DatabaseTransaction> {
        self.slot().take()
    }

    fn put(&self, txn: DatabaseTransaction) {
        *self.slot() = Some(txn);
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<DatabaseTransaction>> {
        // Only the writer's task takes the lock, and nothing in it can panic.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Store {
    /// Rolls back the transaction the last batch's commit began, if there is one: the
    /// writer calls it when no command waits, so that no transaction stays open while it
    /// is idle.
    pub async fn end_carried(&self) {
        let Some(txn) = self.carried_txn() else {
            return;
        };
        if let Err(e) = txn.rollback().await {
            tracing::debug!(error = %e, "the writer's idle transaction was not rolled back");
        }
    }

    /// The transaction the last batch's commit began, taken out of its slot.
    fn carried_txn(&self) -> Option<DatabaseTransaction> {
        self.carried.as_ref().and_then(|c| c.take())
    }
}

/// The plan's lots split in two: those granted by an entry the batch inserts, new rows to
/// insert as they are, and the rest, which existed before it. An upsert of a new lot would
/// cost PostgreSQL a speculative insertion and a probe of its key.
fn granted_lots(plan: &Plan) -> (Vec<lot::Model>, Vec<lot::Model>) {
    let new: HashSet<Uuid> = plan.entries.iter().map(|e| e.id).collect();
    (plan.lots.iter().cloned()).partition(|l| l.entry_id.is_some_and(|id| new.contains(&id)))
}

/// A lot's bookkeeping columns, which a batch that draws from it or closes it updates.
pub(crate) fn lot_upsert() -> OnConflict {
    OnConflict::column(lot::Column::Id)
        .update_columns([
            lot::Column::Remaining,
            lot::Column::Status,
            lot::Column::ClosedBy,
            lot::Column::ClosedAt,
            lot::Column::ClosedAmount,
        ])
        .to_owned()
}

/// A hold's bookkeeping columns, which the batch that ends it updates.
pub(crate) fn hold_upsert() -> OnConflict {
    OnConflict::column(hold::Column::Id)
        .update_columns([
            hold::Column::Status,
            hold::Column::ClosedBy,
            hold::Column::ClosedAt,
            hold::Column::Captured,
        ])
        .to_owned()
}

/// What claiming an async entry's nonce found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// Stored now, as `received`; the workflow will finish it.
    Stored,
    /// The nonce already belongs to this entry, with this request hash.
    Existing {
        entry_id: Uuid,
        request_hash: String,
    },
}

impl Store {
    /// Durably stores an async entry as `received` (its row, with its first transition in
    /// it, its outbox rows and a pending row), unless its nonce is already taken.
    pub async fn receive(
        &self,
        received: &EntryRecord,
        outbox: &[outbox::Model],
    ) -> Result<Claimed, StoreError> {
        super::retrying(|| async {
            // The nonce is all that is contended here, and the unique index on
            // (app_id, nonce) decides it: no SERIALIZABLE read is needed (under many
            // concurrent receives it only produced serialization failures).
            let txn = self.begin_claim().await?;
            let row = &received.entry;
            let nonce = OnConflict::columns([entry::Column::AppId, entry::Column::Nonce])
                .do_nothing()
                .to_owned();
            let (rows, transitions) =
                events::fold_into_entries(std::slice::from_ref(row), &received.events)?;
            let claimed = entry::Entity::insert_many(
                rows.into_iter().map(IntoActiveModel::into_active_model),
            )
            .on_conflict(nonce)
            .exec_without_returning(&txn)
            .await?;
            if claimed == 0 {
                return existing(&txn, row).await;
            }
            let mut inserts = Inserts::new(self.backend());
            inserts.add::<entry_event::Entity, _>(&transitions, None)?;
            inserts.add::<outbox::Entity, _>(outbox, None)?;
            inserts.run(&txn).await?;
            pending_entry::Model {
                entry_id: row.id,
                app_id: row.app_id,
                received_at: row.created_at,
            }
            .into_active_model()
            .insert(&txn)
            .await?;
            txn.commit().await?;
            self.hand_to_relay(outbox.to_vec());
            Ok(Claimed::Stored)
        })
        .await
    }
}

/// The entry that holds `row`'s nonce.
async fn existing(txn: &DatabaseTransaction, row: &entry::Model) -> Result<Claimed, StoreError> {
    let (entry_id, request_hash) = nonce_holder(txn, row.app_id, &row.nonce)
        .await?
        .ok_or_else(|| {
            StoreError::Corrupt(format!("nonce {:?} is taken by no entry", row.nonce))
        })?;
    Ok(Claimed::Existing {
        entry_id,
        request_hash,
    })
}

#[cfg(test)]
mod tests;
