//! Each side's totals: entries, postings, completed and failed entries. The read model may
//! have fewer (it trails), never more.

use super::{Lag, Report};
use crate::ledger::state::EntryState;
use crate::store::events;
use entity::{entry, read};
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, PaginatorTrait, QueryFilter};

/// One side's totals, read in the same snapshot as its accounts.
#[derive(Debug, Default)]
pub(super) struct Totals {
    pub(super) entries: u64,
    pub(super) postings: u64,
    pub(super) completed: u64,
    pub(super) failed: u64,
}

impl Totals {
    /// As many entries as `other`, as many of them completed and as many failed.
    pub(super) fn settled_as(&self, other: &Totals) -> bool {
        (self.entries, self.completed, self.failed)
            == (other.entries, other.completed, other.failed)
    }
}

/// Entries, postings, completed and failed entries: the read model may have fewer (it
/// trails), never more.
pub(super) fn compare_totals(
    in_store: &Totals,
    in_read: &Totals,
    report: &mut Report,
    lag: &mut Lag,
) {
    let pairs = [
        ("entries", in_store.entries, in_read.entries),
        ("postings", in_store.postings, in_read.postings),
        ("completed entries", in_store.completed, in_read.completed),
        ("failed entries", in_store.failed, in_read.failed),
    ];
    let mut unfinished = 0;
    for (what, in_store, in_read) in pairs {
        let line = format!("{what}: {in_store} in the event store, {in_read} in the read model");
        match in_store.cmp(&in_read) {
            std::cmp::Ordering::Equal => {}
            std::cmp::Ordering::Less => report.differ(line),
            std::cmp::Ordering::Greater => {
                match what {
                    "entries" => lag.entries = in_store - in_read,
                    "completed entries" | "failed entries" => unfinished += in_store - in_read,
                    _ => {}
                }
                lag.lines.push(line);
            }
        }
    }
    // An entry the read model has at an earlier state (an async entry's `received`) trails
    // too; one it lacks altogether is counted once.
    lag.entries = lag.entries.max(unfinished);
}

pub(super) async fn store_totals(db: &DatabaseTransaction, postings: u64) -> Result<Totals, DbErr> {
    Ok(Totals {
        entries: entry::Entity::find().count(db).await?,
        postings,
        completed: events::count_reached(db, EntryState::Completed.as_str()).await?,
        failed: events::count_reached(db, EntryState::Failed.as_str()).await?,
    })
}

/// The read model's totals; sharing the event store's database, its entries are the event
/// store's.
pub(super) async fn read_totals(
    db: &DatabaseTransaction,
    shares_store: bool,
) -> Result<Totals, DbErr> {
    if shares_store {
        let postings = read::posting::Entity::find().count(db).await?;
        return store_totals(db, postings).await;
    }
    let terminal = |state: &'static str| {
        read::entry::Entity::find()
            .filter(read::entry::Column::State.eq(state))
            .count(db)
    };
    Ok(Totals {
        entries: read::entry::Entity::find().count(db).await?,
        postings: read::posting::Entity::find().count(db).await?,
        completed: terminal("completed").await?,
        failed: terminal("failed").await?,
    })
}
