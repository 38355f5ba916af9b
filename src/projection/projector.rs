//! The projector: applies entry messages to the read model, idempotent and in order per
//! account, whatever order and however often the bus delivers them.
//!
//! The invariant it keeps: a read-model account at version v has exactly the postings
//! 1..=v of that account in `rm_postings`, and the balance of posting v. It follows from
//! three rules, enforced here:
//! - a posting is applied only when its version is the account's next one (a message whose
//!   posting would leave a gap waits, and is delivered again later);
//! - balances are copied from the postings' `balance_after`, never summed, so applying a
//!   posting twice cannot change a balance;
//! - an account row only moves forward (`WHERE version < excluded.version`), so a
//!   concurrent projector that applied more wins, and a late one is a no-op.
//!
//! A lot belongs to one account, and a message carries each lot it touched as the entry
//! left it: applied with its account's postings, in their order, a lot row is always the
//! one of the account's newest applied posting. A hold moves once, from `held` to how it
//! ended: its row takes the end whenever that arrives, and a late placement changes
//! nothing.

use super::rows::{
    add_app_events, add_checkpoint, add_entries, add_holds, add_lots, add_postings, add_reversals,
    entry_row,
};
use crate::bus::EntryMessage;
use crate::ledger::record::EntryRecord;
use crate::metrics::Metrics;
use crate::query::{ReadModel, wake};
use crate::store::{Inserts, KEYED_READS_IN_TXN};
use crate::time::now_micros;
use entity::read::{account, app_event, entry, hold, lot, parked, posting, reversal};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
    TransactionTrait,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use uuid::Uuid;

/// What became of one message of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// In the read model now (applied by this batch or before it): acknowledge it.
    Applied,
    /// An earlier posting of one of its accounts is not applied yet: deliver it again later.
    Waiting,
}

/// A message as the projector reads it, borrowed from whoever holds it (the consumer's held
/// messages, the write path's records), with its place on the bus (the stream sequence; 0
/// for the in-process bus).
#[derive(Debug, Clone, Copy)]
pub struct Delivered<'a> {
    pub record: &'a EntryRecord,
    pub committed_at: i64,
    pub position: u64,
}

impl<'a> Delivered<'a> {
    pub fn of(message: &'a EntryMessage, position: u64) -> Delivered<'a> {
        Delivered {
            record: &message.record,
            committed_at: message.committed_at,
            position,
        }
    }
}

/// Applies messages to one read model. Cheap to clone.
#[derive(Clone)]
pub struct Projector {
    read: ReadModel,
    metrics: Arc<Metrics>,
    /// The checkpoint row this projector advances.
    name: String,
}

impl Projector {
    pub fn new(read: ReadModel, metrics: Arc<Metrics>, name: &str) -> Projector {
        Projector {
            read,
            metrics,
            name: name.to_owned(),
        }
    }

    /// Applies what can be applied of `batch` in one read-model transaction and says, per
    /// message, whether it is in the read model now or must wait for an earlier one.
    pub async fn apply(&self, batch: &[Delivered<'_>]) -> Result<Vec<Verdict>, DbErr> {
        let txn = self.read.conn().begin().await?;
        // On PostgreSQL one round trip opens it: the wake-up of other instances' waiting
        // reads, sent at the commit whatever the batch applies (a read woken for nothing
        // looks again), and reads by key where set (the heads' versions,
        // `projected_versions`).
        if let Some(notify) = wake::notification(txn.get_database_backend()) {
            let first = if self.read.keyed_reads() {
                format!("{KEYED_READS_IN_TXN}; {notify}")
            } else {
                notify
            };
            txn.execute_unprepared(&first).await?;
        }
        let mut inserts = Inserts::new(txn.get_database_backend());
        let verdicts = self.apply_in(&txn, &mut inserts, batch).await?;
        inserts.run(&txn).await?;
        txn.commit().await?;
        self.observe(batch, &verdicts);
        Ok(verdicts)
    }

    /// [`Projector::apply`] inside the caller's transaction `db`, which must be on the read
    /// model's database: reads there, and adds its writes to `inserts`, which the caller
    /// runs in `db` and commits, then calls [`Projector::observe`]. The write path uses it
    /// when the read model shares the event store's database, so an entry and its
    /// projection commit together, in one statement.
    pub async fn apply_in(
        &self,
        db: &impl ConnectionTrait,
        inserts: &mut Inserts,
        batch: &[Delivered<'_>],
    ) -> Result<Vec<Verdict>, DbErr> {
        if self.shares_store() {
            return self.apply_shared(inserts, batch);
        }
        let before = projected_versions(db, batch).await?;
        let verdicts = decide(batch, &before);
        add_rows(&self.name, inserts, batch, &verdicts, Some(&before))?;
        Ok(verdicts)
    }

    /// Whether the read model shares the event store's database, and with it all the event
    /// store's rows: each message is applied by its own commit, and only the checkpoint is
    /// written here, so [`Projector::apply_shared`] reads nothing.
    pub fn shares_store(&self) -> bool {
        self.read.shares_store()
    }

    /// [`Projector::apply_in`] for a read model that shares the event store's database:
    /// every message is applied, without a read.
    pub fn apply_shared(
        &self,
        inserts: &mut Inserts,
        batch: &[Delivered<'_>],
    ) -> Result<Vec<Verdict>, DbErr> {
        let verdicts = vec![Verdict::Applied; batch.len()];
        add_rows(&self.name, inserts, batch, &verdicts, None)?;
        Ok(verdicts)
    }

    /// Counts the applied messages of a committed batch and their projection lag, and wakes
    /// this process's reads that wait for a version.
    pub fn observe(&self, batch: &[Delivered<'_>], verdicts: &[Verdict]) {
        if verdicts.contains(&Verdict::Applied) {
            self.read.projected();
        }
        let now = now_micros();
        for (d, _) in batch
            .iter()
            .zip(verdicts)
            .filter(|(_, v)| **v == Verdict::Applied)
        {
            self.metrics.projected.inc();
            let lag = Ord::max(now - d.committed_at, 0) as f64 / 1e6;
            self.metrics.projection_lag.observe(lag);
        }
    }

    /// Decodes a delivered payload, or parks it when it is not a message of this version
    /// (`None`: parked, the caller acknowledges it).
    pub async fn decode_or_park(
        &self,
        message_id: &str,
        position: u64,
        payload: &[u8],
    ) -> Result<Option<EntryMessage>, DbErr> {
        match EntryMessage::decode(payload) {
            Ok(message) => Ok(Some(message)),
            Err(e) => {
                let reason = format!("undecodable: {e}");
                self.park(message_id, position, payload, &reason).await?;
                Ok(None)
            }
        }
    }

    /// Keeps a message that can never be applied, so that it is neither lost nor retried
    /// forever; the caller then acknowledges it.
    async fn park(
        &self,
        message_id: &str,
        position: u64,
        payload: &[u8],
        reason: &str,
    ) -> Result<(), DbErr> {
        tracing::error!(
            message_id,
            position,
            reason,
            "parking a message that cannot be applied"
        );
        let row = parked::Model {
            message_id: message_id.to_owned(),
            stream_sequence: position as i64,
            payload: String::from_utf8_lossy(payload).into_owned(),
            reason: reason.to_owned(),
            parked_at: now_micros(),
        };
        parked::Entity::insert(row.into_active_model())
            .on_conflict(
                OnConflict::column(parked::Column::MessageId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(self.read.conn())
            .await?;
        self.metrics.parked.inc();
        Ok(())
    }
}

/// Adds the read-model rows of the applied messages of `batch`, over the versions `before`
/// holds, and the checkpoint; only the checkpoint where `before` is `None` (a read model
/// that shares the event store's database).
fn add_rows(
    name: &str,
    inserts: &mut Inserts,
    batch: &[Delivered<'_>],
    verdicts: &[Verdict],
    before: Option<&HashMap<Uuid, i64>>,
) -> Result<(), DbErr> {
    if !verdicts.contains(&Verdict::Applied) {
        return Ok(());
    }

    let applied = || {
        batch
            .iter()
            .zip(verdicts)
            .filter(|(_, v)| **v == Verdict::Applied)
            .map(|(d, _)| d)
    };
    let position = applied().map(|d| d.position).max().unwrap_or(0);
    let newest = applied().map(|d| d.committed_at).max().unwrap_or(0);
    add_checkpoint(inserts, name, position as i64, newest)?;
    let Some(before) = before else {
        return Ok(());
    };

    let mut rows = Rows::default();
    for d in applied() {
        rows.add(d.record, before)?;
    }
    add_entries(inserts, &rows.entries.into_values().collect::<Vec<_>>())?;
    add_postings(inserts, &rows.postings.into_values().collect::<Vec<_>>())?;
    add_lots(
        inserts,
        &rows.lots.into_values().map(|(_, l)| l).collect::<Vec<_>>(),
    )?;
    add_holds(inserts, &rows.holds.into_values().collect::<Vec<_>>())?;
    add_reversals(inserts, &rows.reversals.into_values().collect::<Vec<_>>())?;
    add_app_events(inserts, &rows.app_events.into_values().collect::<Vec<_>>())?;
    Ok(())
}

/// The read model's version of each account the batch posts to.
async fn projected_versions(
    db: &impl ConnectionTrait,
    batch: &[Delivered<'_>],
) -> Result<HashMap<Uuid, i64>, DbErr> {
    let accounts: BTreeSet<Uuid> = batch
        .iter()
        .flat_map(|d| d.record.postings.iter().map(|p| p.account_id))
        .collect();
    Ok(account::Entity::find()
        .select_only()
        .columns([account::Column::Id, account::Column::Version])
        .filter(account::Column::Id.is_in(accounts))
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Decides in memory, in passes, which messages can be applied: a message is ready when
/// each of its postings is either applied already or the next version of its account.
/// Passes repeat while they make progress, so a batch that holds v2 before v1 applies both.
fn decide(batch: &[Delivered<'_>], before: &HashMap<Uuid, i64>) -> Vec<Verdict> {
    let mut applied = before.clone();
    let mut verdicts = vec![Verdict::Waiting; batch.len()];
    let mut progress = true;
    while progress {
        progress = false;
        for (d, verdict) in batch.iter().zip(verdicts.iter_mut()) {
            if *verdict == Verdict::Applied {
                continue;
            }
            let mut postings: Vec<_> = d.record.postings.iter().collect();
            postings.sort_by_key(|p| p.version);
            let mut trial = BTreeMap::new();
            let ready = postings.iter().all(|p| {
                let known = trial
                    .get(&p.account_id)
                    .or_else(|| applied.get(&p.account_id))
                    .copied()
                    .unwrap_or(0);
                if p.version > known + 1 {
                    return false;
                }
                trial.insert(p.account_id, Ord::max(known, p.version));
                true
            });
            if ready {
                applied.extend(trial);
                *verdict = Verdict::Applied;
                progress = true;
            }
        }
    }
    verdicts
}

/// The rows a batch writes, without duplicates (a batch may hold a message twice, and a
/// multi-row upsert may not touch one row twice).
#[derive(Default)]
struct Rows {
    entries: HashMap<Uuid, entry::Model>,
    postings: BTreeMap<(Uuid, i64), posting::Model>,
    /// Each lot as the newest applied posting of its account left it, with that version.
    lots: HashMap<Uuid, (i64, lot::Model)>,
    /// Each hold as its placement or its end left it (the end wins).
    holds: HashMap<Uuid, hold::Model>,
    /// What has been reversed of each entry, as the latest reversal left it.
    reversals: HashMap<Uuid, reversal::Model>,
    /// The apps' events, by `(app, seq)`.
    app_events: BTreeMap<(Uuid, i64), app_event::Model>,
}

impl Rows {
    /// Adds all of a message's rows; its entry's unless the batch has a later one of it.
    fn add(&mut self, record: &EntryRecord, before: &HashMap<Uuid, i64>) -> Result<(), DbErr> {
        let row = entry_row(record)?;
        if self
            .entries
            .get(&row.id)
            .is_none_or(|kept| kept.last_seq < row.last_seq)
        {
            self.entries.insert(row.id, row);
        }
        for p in &record.postings {
            if p.version > before.get(&p.account_id).copied().unwrap_or(0) {
                self.postings
                    .insert((p.account_id, p.version), p.clone().into());
            }
        }
        for l in &record.lots {
            let Some(p) = record
                .postings
                .iter()
                .find(|p| p.account_id == l.account_id)
            else {
                continue;
            };
            let newer = self.lots.get(&l.id).is_none_or(|(v, _)| *v < p.version);
            if p.version > before.get(&p.account_id).copied().unwrap_or(0) && newer {
                self.lots.insert(l.id, (p.version, l.clone().into()));
            }
        }
        for h in &record.holds {
            let ended = h.status != "held";
            if ended || !self.holds.contains_key(&h.id) {
                self.holds.insert(h.id, h.clone().into());
            }
        }
        for r in &record.reversals {
            let later = self
                .reversals
                .get(&r.entry_id)
                .is_none_or(|kept| kept.count < r.count);
            if later {
                self.reversals.insert(r.entry_id, r.clone().into());
            }
        }
        for e in &record.app_events {
            self.app_events.insert((e.app_id, e.seq), e.clone().into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
