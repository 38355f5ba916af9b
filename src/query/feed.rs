//! An app's events as projected, in `seq` order: the feed, and the stream's catch-up.
//!
//! Invariant enforced here: **a page never skips an event**. `seq` is gap-free per app in
//! the event store, but the projector may apply a later event before an earlier one (they
//! belong to different accounts). So a page ends before the first missing number: what is
//! answered is a run without a gap from the cursor on, and a client that asks again after
//! `next_after` gets the missing event once it is projected. Numbers at or below the app's
//! floor were pruned for the retention; the run starts after the floor.

use super::{QueryError, ReadModel};
use crate::ledger::app_events::{fill_entry_data, is_of_entry};
use entity::read::{app_event, event_floor};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

/// Which events a reader wants: all, or only these types, or only this owner's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Event type names (`entry.completed`, …); empty: every type.
    pub types: Vec<String>,
    pub owner_id: Option<String>,
}

impl EventFilter {
    pub fn is_all(&self) -> bool {
        self.types.is_empty() && self.owner_id.is_none()
    }

    pub fn admits(&self, event: &app_event::Model) -> bool {
        (self.types.is_empty() || self.types.contains(&event.event_type))
            && self.owner_id.as_ref().is_none_or(|o| *o == event.owner_id)
    }
}

/// A page of the feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedPage {
    pub events: Vec<app_event::Model>,
    /// Where the next page starts: the last `seq` this page covered, whether or not the
    /// filter kept it.
    pub next_after: i64,
}

/// How many numbers a filtered page looks through at most, to find `limit` that match.
const SCAN: u64 = 1_000;

impl ReadModel {
    /// Up to `limit` of `app`'s events after `after` that `filter` keeps.
    pub async fn feed(
        &self,
        app: Uuid,
        after: i64,
        limit: u64,
        filter: &EventFilter,
    ) -> Result<FeedPage, QueryError> {
        let floor = event_floor::Entity::find_by_id(app)
            .one(self.conn())
            .await?
            .map_or(0, |f| f.seq);
        let start = after.max(floor);
        if filter.is_all() {
            let rows = self.events_after(app, start, limit).await?;
            let mut events = unbroken(start, rows);
            self.fill_entry_data(&mut events).await?;
            let next_after = events.last().map_or(start, |e| e.seq);
            return Ok(FeedPage { events, next_after });
        }
        let seqs: Vec<i64> = app_event::Entity::find()
            .select_only()
            .column(app_event::Column::Seq)
            .filter(app_event::Column::AppId.eq(app))
            .filter(app_event::Column::Seq.gt(start))
            .order_by_asc(app_event::Column::Seq)
            .limit(SCAN)
            .into_tuple()
            .all(self.conn())
            .await?;
        let end = run_end(start, &seqs);
        let mut query = app_event::Entity::find()
            .filter(app_event::Column::AppId.eq(app))
            .filter(app_event::Column::Seq.gt(start))
            .filter(app_event::Column::Seq.lte(end));
        if !filter.types.is_empty() {
            query = query.filter(app_event::Column::EventType.is_in(filter.types.clone()));
        }
        if let Some(owner) = &filter.owner_id {
            query = query.filter(app_event::Column::OwnerId.eq(owner.as_str()));
        }
        let mut events = query
            .order_by_asc(app_event::Column::Seq)
            .limit(limit)
            .all(self.conn())
            .await?;
        self.fill_entry_data(&mut events).await?;
        let next_after = match events.len() as u64 == limit {
            true => events.last().map_or(end, |e| e.seq),
            false => end,
        };
        Ok(FeedPage { events, next_after })
    }

    /// The number of `app`'s newest event in the read model, 0 when it has none (a start
    /// below the retention's floor is the floor: `feed` raises it).
    pub async fn newest_event(&self, app: Uuid) -> Result<i64, QueryError> {
        let newest: Option<i64> = app_event::Entity::find()
            .select_only()
            .column(app_event::Column::Seq)
            .filter(app_event::Column::AppId.eq(app))
            .order_by_desc(app_event::Column::Seq)
            .limit(1)
            .into_tuple()
            .one(self.conn())
            .await?;
        Ok(newest.unwrap_or(0))
    }

    /// The data of the events of their entries, built from the entries as projected
    /// (`app_events::entry_data`): an entry and its events are projected together.
    async fn fill_entry_data(&self, events: &mut [app_event::Model]) -> Result<(), QueryError> {
        let ids: Vec<Uuid> = (events.iter())
            .filter(|e| is_of_entry(&e.data))
            .map(|e| e.entry_id)
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let records = self.entries(&ids).await?;
        let slots = events.iter_mut().map(|e| (&mut e.data, e.entry_id));
        match fill_entry_data(slots, &records).first() {
            None => Ok(()),
            Some(id) => Err(QueryError::Corrupt(format!(
                "an event of entry {id} is projected, the entry is not"
            ))),
        }
    }

    async fn events_after(
        &self,
        app: Uuid,
        after: i64,
        limit: u64,
    ) -> Result<Vec<app_event::Model>, QueryError> {
        Ok(app_event::Entity::find()
            .filter(app_event::Column::AppId.eq(app))
            .filter(app_event::Column::Seq.gt(after))
            .order_by_asc(app_event::Column::Seq)
            .limit(limit)
            .all(self.conn())
            .await?)
    }
}

/// The rows of `rows` (in `seq` order) that follow `after` without a gap.
pub fn unbroken(after: i64, rows: Vec<app_event::Model>) -> Vec<app_event::Model> {
    let end = run_end(after, &rows.iter().map(|r| r.seq).collect::<Vec<_>>());
    rows.into_iter().take_while(|r| r.seq <= end).collect()
}

/// The last number of the run without a gap that `seqs` (ascending) continue from `after`.
fn run_end(after: i64, seqs: &[i64]) -> i64 {
    let mut end = after;
    for &seq in seqs {
        if seq != end + 1 {
            break;
        }
        end = seq;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::run_end;

    #[test]
    fn a_run_stops_before_the_first_missing_number() {
        assert_eq!(run_end(0, &[1, 2, 3, 5, 6]), 3);
        assert_eq!(run_end(10, &[11, 12]), 12);
        assert_eq!(run_end(10, &[12, 13]), 10);
        assert_eq!(run_end(4, &[]), 4);
    }
}
