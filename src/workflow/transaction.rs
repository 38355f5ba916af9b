//! The one write path: load → decide → write → outbox or inline projection → commit, run
//! whole again on a conflict with another writer (SQLSTATE 40001, a unique violation,
//! SQLite busy), on fresh reads.
//!
//! Every committed entry reaches the read model: its outbox row is written in the
//! transaction that records it, or, with an inline projector (the read model in the event
//! store's database, whatever the bus), its read-model rows are.

use crate::bus::EntryMessage;
use crate::ledger::command::Command;
use crate::ledger::decide::{Plan, Wanted, decide};
use crate::ledger::record::EntryRecord;
use crate::projection::projector::{Delivered, Projector, Verdict};
use crate::store::{BatchWrite, Store, StoreError, retrying};
use crate::time::now_micros;
use sea_orm::DbErr;

/// Runs `commands` as one batch and returns what was decided and committed.
pub async fn run(
    store: &Store,
    commands: &[Command],
    inline: Option<&Projector>,
) -> Result<Plan, StoreError> {
    retrying(|| once(store, commands, inline)).await
}

async fn once(
    store: &Store,
    commands: &[Command],
    inline: Option<&Projector>,
) -> Result<Plan, StoreError> {
    let mut write = store.begin_batch().await?;
    let now = now_micros();
    let loaded = write.load(&Wanted::of(commands, now)).await?;
    // An illegal transition is a bug in `decide`; nothing of the batch is written.
    let plan = decide(commands, loaded, now).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    write.plan(&plan)?;
    let committed_at = now_micros();
    let projected = match inline {
        None => {
            write.outbox(&outbox_rows(plan.recorded(), committed_at)?)?;
            None
        }
        Some(projector) => Some(project(&mut write, projector, &plan, committed_at).await?),
    };
    write.commit(&plan.finished_pending).await?;
    if let (Some(projector), Some((delivered, verdicts))) = (inline, projected) {
        projector.observe(&delivered, &verdicts);
    }
    Ok(plan)
}

/// Projects the plan's entries in the write's own transaction. A message that must wait
/// for an earlier one still in the outbox (a read model that fell behind) goes to the
/// outbox after it, so the projector's order per account holds either way.
async fn project<'p>(
    write: &mut BatchWrite<'_>,
    projector: &Projector,
    plan: &'p Plan,
    committed_at: i64,
) -> Result<(Vec<Delivered<'p>>, Vec<Verdict>), StoreError> {
    let delivered: Vec<Delivered> = plan
        .recorded()
        .map(|record| Delivered {
            record,
            committed_at,
            position: 0,
        })
        .collect();
    let (txn, inserts) = write.parts();
    let verdicts = projector.apply_in(txn, inserts, &delivered).await?;
    let waiting = delivered
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| **v == Verdict::Waiting)
        .map(|(d, _)| d.record);
    write.outbox(&outbox_rows(waiting, committed_at)?)?;
    Ok((delivered, verdicts))
}

/// The outbox rows of `records`' messages, committed at `committed_at`.
pub(super) fn outbox_rows<'a>(
    records: impl IntoIterator<Item = &'a EntryRecord>,
    committed_at: i64,
) -> Result<Vec<entity::outbox::Model>, StoreError> {
    EntryMessage::outbox_rows(records, committed_at).map_err(|e| {
        StoreError::Db(DbErr::Custom(format!(
            "cannot encode an outbox message: {e}"
        )))
    })
}
