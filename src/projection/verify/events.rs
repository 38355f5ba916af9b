//! The apps' events' part of `verify`. In the event store, each app's `seq`s run without a
//! gap (from where the retention pruned them) up to the last number its `event_seqs` row
//! gave, which is what lets the feed promise a gap-free `seq`. A read model of its own
//! holds the event store's rows, the same, above its floor, once it has every entry (an
//! event is written in the transaction of the entry that caused it).

use super::Report;
use entity::{app_event, event_seq, read};
use sea_orm::{DatabaseTransaction, DbErr, EntityTrait};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Events by `(app, seq)`, as the read model holds them.
pub(super) type Events = BTreeMap<(Uuid, i64), read::app_event::Model>;

/// A read model's events, and how far each app's were pruned (its floor).
pub(super) struct Projected {
    events: Events,
    floors: HashMap<Uuid, i64>,
}

pub(super) async fn store_events(db: &DatabaseTransaction) -> Result<Events, DbErr> {
    Ok(app_event::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|e| ((e.app_id, e.seq), e.into()))
        .collect())
}

pub(super) async fn read_events(db: &DatabaseTransaction) -> Result<Projected, DbErr> {
    let events = read::app_event::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|e| ((e.app_id, e.seq), e))
        .collect();
    let floors = read::event_floor::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.app_id, f.seq))
        .collect();
    Ok(Projected { events, floors })
}

/// Each app's events run without a gap and end at the last number it gave.
pub(super) async fn check(
    db: &DatabaseTransaction,
    events: &Events,
    report: &mut Report,
) -> Result<(), DbErr> {
    let given: HashMap<Uuid, i64> = event_seq::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.app_id, row.seq))
        .collect();
    let mut last: BTreeMap<Uuid, i64> = BTreeMap::new();
    for &(app, seq) in events.keys() {
        if let Some(before) = last.insert(app, seq)
            && seq != before + 1
        {
            report.differ(format!(
                "app {app}: event {seq} follows event {before}: the events have a gap"
            ));
        }
    }
    for (app, seq) in last {
        let numbered = given.get(&app).copied().unwrap_or(0);
        if seq != numbered {
            report.differ(format!(
                "app {app}: its last event is {seq}, but {numbered} were numbered"
            ));
        }
    }
    Ok(())
}

/// The read model's events against the event store's: every event above the read model's
/// floor is there and the same, and the read model has none the event store never had (it
/// may still have some the retention pruned from the event store after it).
pub(super) fn compare(store: &Events, projected: &Projected, report: &mut Report) {
    let Projected { events, floors } = projected;
    for (&(app, seq), event) in store {
        if seq <= floors.get(&app).copied().unwrap_or(0) {
            continue;
        }
        match events.get(&(app, seq)) {
            Some(projected) if projected == event => {}
            Some(_) => report.differ(format!("app {app}: event {seq} differs in the read model")),
            None => report.differ(format!(
                "app {app}: event {seq} is missing from the read model"
            )),
        }
    }
    let mut lowest: HashMap<Uuid, i64> = HashMap::new();
    for &(app, seq) in store.keys() {
        lowest.entry(app).or_insert(seq);
    }
    for &(app, seq) in events.keys() {
        let pruned_from_store = lowest.get(&app).is_none_or(|low| seq < *low);
        if !store.contains_key(&(app, seq)) && !pruned_from_store {
            report.differ(format!(
                "app {app}: the read model has event {seq}, which the event store has not"
            ));
        }
    }
}
