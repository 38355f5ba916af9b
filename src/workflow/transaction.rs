//! The one write path: load → decide → build the rows → send → commit, run whole again on
//! a conflict with another writer (SQLSTATE 40001, a unique violation, SQLite busy), on
//! fresh reads.
//!
//! Every committed entry reaches the read model: its outbox row is written in the
//! transaction that records it, or, with an inline projector (the read model in the event
//! store's database, whatever the bus), its read-model rows are.
//!
//! **Deciding ahead** (SQLite). Once a batch has sent its rows, the commands queued behind
//! it are read in its transaction, which sees those rows, and decided while it commits:
//! their reads and decision are off the chain of round trips that every entry waits for.
//! They were read as of the moment their own transaction begins only if no other
//! connection committed in between, which the writer checks at that `BEGIN`
//! ([`crate::store::Mark`]): if one did, the batch is read and decided again there. On
//! PostgreSQL there is no such cheap check, so a batch is read in its own transaction.

use crate::bus::EntryMessage;
use crate::ledger::command::Command;
use crate::ledger::decide::{Loaded, Plan, Wanted, decide};
use crate::ledger::record::EntryRecord;
use crate::projection::projector::{Delivered, Projector, Verdict};
use crate::store::{Attempts, BatchRows, BatchWrite, Mark, Store, StoreError, is_nonce_taken};
use crate::time::now_micros;
use crate::workflow::claims::Claims;
use sea_orm::DbErr;

/// A batch decided ahead, in the transaction of the batch before it, with what that
/// transaction saw of other connections.
pub struct Ahead {
    staged: Staged,
    mark: Mark,
}

/// A decided batch and its rows, not sent yet.
struct Staged {
    plan: Plan,
    rows: BatchRows,
    /// What the inline projector made of the plan's entries, if there is one.
    projected: Option<Vec<Verdict>>,
    /// When the rows were built: the outbox rows' and the projection's commit instant.
    committed_at: i64,
}

/// The commands queued behind a batch. They are taken once, by the first attempt that
/// looks ahead, and are the next batch whether or not it gets decided ahead.
pub struct Next<'q> {
    take: &'q mut dyn FnMut() -> Vec<Command>,
    taken: Option<Vec<Command>>,
}

impl<'q> Next<'q> {
    /// `take` answers the commands queued now, without waiting.
    pub fn new(take: &'q mut dyn FnMut() -> Vec<Command>) -> Next<'q> {
        Next { take, taken: None }
    }

    /// The commands taken, if any were.
    pub fn into_taken(self) -> Vec<Command> {
        self.taken.unwrap_or_default()
    }

    fn commands(&mut self) -> &[Command] {
        self.taken.get_or_insert_with(|| (self.take)())
    }
}

/// What a batch's run left: its plan, committed, and perhaps the next batch decided ahead.
pub struct Written {
    pub plan: Plan,
    pub ahead: Option<Ahead>,
    /// Whether the batch was written as decided ahead (`None`: it was not decided ahead).
    pub as_ahead: Option<bool>,
}

/// Runs `commands` as one batch, using `ahead` if it was decided for them and is still
/// valid, and decides `next`'s commands ahead where it can (`next: None` never does).
/// `claims` says whether the batch reads its nonces first.
pub async fn run(
    store: &Store,
    commands: &[Command],
    inline: Option<&Projector>,
    mut ahead: Option<Ahead>,
    mut next: Option<&mut Next<'_>>,
    claims: &Claims,
) -> Result<Written, StoreError> {
    let mut attempts = Attempts::default();
    let decided_ahead = ahead.is_some();
    let mut probe = claims.probe_next();
    loop {
        let attempt = once(
            store,
            commands,
            inline,
            ahead.take(),
            next.as_deref_mut(),
            probe,
        );
        match attempt.await {
            // It took a nonce as free that an entry holds: run it again at once, probing.
            // This is no conflict with another writer, so there is nothing to wait for.
            Err(e) if !probe && is_nonce_taken(&e) => claims.met_taken(),
            Err(e) => attempts.again(e).await?,
            Ok((plan, ahead, as_ahead)) => {
                return Ok(Written {
                    plan,
                    ahead,
                    as_ahead: decided_ahead.then_some(as_ahead),
                });
            }
        }
        // An attempt after a failed one reads everything it decides on.
        probe = true;
    }
}

async fn once(
    store: &Store,
    commands: &[Command],
    inline: Option<&Projector>,
    ahead: Option<Ahead>,
    next: Option<&mut Next<'_>>,
    probe: bool,
) -> Result<(Plan, Option<Ahead>, bool), StoreError> {
    let mut write = store.begin_batch().await?;
    // The mark is read only where a decision ahead is used or made.
    let mark = match (&ahead, &next) {
        (None, None) => None,
        _ => write.mark().await?,
    };
    let (staged, as_ahead) = match ahead {
        // Nothing else committed since the batch before began: what it read for this one,
        // after its own rows, is what this transaction would read.
        Some(ahead) if mark.as_ref() == Some(&ahead.mark) => (ahead.staged, true),
        _ => {
            let now = now_micros();
            let loaded = write.load(&wanted(commands, now, probe)).await?;
            let staged = stage_in(store, &write, commands, loaded, now, inline).await?;
            (staged, false)
        }
    };
    let Staged {
        plan,
        rows,
        projected,
        committed_at,
    } = staged;
    write.send(rows, &plan.finished_pending).await?;
    let following = match (mark, next) {
        (Some(mark), Some(next)) if inline.is_none_or(Projector::shares_store) => {
            (read_ahead(&write, next.commands(), probe).await).map(|r| (r, mark))
        }
        _ => None,
    };
    // The commit's flush and the next batch's decision run at once.
    let (committed, ahead) = tokio::join!(write.commit(), async {
        let ((commands, loaded, now), mark) = following?;
        match stage(store, commands, loaded, now, inline) {
            Ok(staged) => Some(Ahead { staged, mark }),
            Err(e) => {
                tracing::debug!(error = %e, "the next batch is decided in its own transaction");
                None
            }
        }
    });
    committed?;
    if let (Some(projector), Some(verdicts)) = (inline, projected) {
        projector.observe(&delivered(&plan, committed_at), &verdicts);
    }
    Ok((plan, ahead, as_ahead))
}

/// What deciding `commands` at `now` reads: without their nonces unless `probe`
/// (`workflow::claims`).
fn wanted(commands: &[Command], now: i64, probe: bool) -> Wanted {
    match probe {
        true => Wanted::of(commands, now),
        false => Wanted::of(commands, now).claiming_by_insert(),
    }
}

/// Reads what `commands` need in `write`, after its rows, claiming their nonces as the
/// batch before did: `None` if there are none, or if the read failed (the batch is then
/// read again in its own transaction).
async fn read_ahead<'c>(
    write: &BatchWrite<'_>,
    commands: &'c [Command],
    probe: bool,
) -> Option<(&'c [Command], Loaded, i64)> {
    if commands.is_empty() {
        return None;
    }
    let now = now_micros();
    match write.load(&wanted(commands, now, probe)).await {
        Ok(loaded) => Some((commands, loaded, now)),
        Err(e) => {
            tracing::debug!(error = %e, "the next batch is read in its own transaction");
            None
        }
    }
}

/// Decides `commands` on `loaded` and builds the rows, with an inline projector that reads
/// nothing (or none): see [`stage_in`] for one that reads.
fn stage(
    store: &Store,
    commands: &[Command],
    loaded: Loaded,
    now: i64,
    inline: Option<&Projector>,
) -> Result<Staged, StoreError> {
    let (plan, mut rows, committed_at) = planned(store, commands, loaded, now)?;
    let projected = match inline {
        Some(projector) => {
            let verdicts =
                projector.apply_shared(rows.inserts(), &delivered(&plan, committed_at))?;
            Some(verdicts)
        }
        None => {
            rows.outbox(outbox_rows(plan.recorded(), committed_at)?)?;
            None
        }
    };
    Ok(Staged {
        plan,
        rows,
        projected,
        committed_at,
    })
}

/// [`stage`] in the batch's own transaction, where an inline projector whose read model
/// has tables of its own reads them. A message that must wait for an earlier one still in
/// the outbox (a read model that fell behind) goes to the outbox after it, so the
/// projector's order per account holds either way.
async fn stage_in(
    store: &Store,
    write: &BatchWrite<'_>,
    commands: &[Command],
    loaded: Loaded,
    now: i64,
    inline: Option<&Projector>,
) -> Result<Staged, StoreError> {
    let projector = match inline {
        Some(projector) if !projector.shares_store() => projector,
        _ => return stage(store, commands, loaded, now, inline),
    };
    let (plan, mut rows, committed_at) = planned(store, commands, loaded, now)?;
    let delivered = delivered(&plan, committed_at);
    let txn = write.txn().ok_or_else(|| {
        StoreError::Writer("a read model of its own is read in the pool's transaction".into())
    })?;
    let verdicts = projector.apply_in(txn, rows.inserts(), &delivered).await?;
    let waiting = delivered
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| **v == Verdict::Waiting)
        .map(|(d, _)| d.record);
    rows.outbox(outbox_rows(waiting, committed_at)?)?;
    Ok(Staged {
        plan,
        rows,
        projected: Some(verdicts),
        committed_at,
    })
}

/// `decide`, the plan's own rows, and the instant they were built at (an illegal
/// transition is a bug in `decide`, and nothing of the batch is written).
fn planned(
    store: &Store,
    commands: &[Command],
    loaded: Loaded,
    now: i64,
) -> Result<(Plan, BatchRows, i64), StoreError> {
    let plan = decide(commands, loaded, now).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut rows = store.batch_rows();
    rows.plan(&plan)?;
    Ok((plan, rows, now_micros()))
}

/// The plan's entries as the inline projector takes them.
fn delivered(plan: &Plan, committed_at: i64) -> Vec<Delivered<'_>> {
    plan.recorded()
        .map(|record| Delivered {
            record,
            committed_at,
            position: 0,
        })
        .collect()
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

#[cfg(test)]
mod tests;
