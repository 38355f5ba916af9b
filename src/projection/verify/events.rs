//! The apps' events' part of `verify`. In the event store, each app's `seq`s run without a
//! gap (from where the retention pruned them) up to the last number its `event_seqs` row
//! gave, which is what lets the feed promise a gap-free `seq`. A read model of its own
//! holds the event store's rows, the same, above its floor, once it has every entry (an
//! event is written in the transaction of the entry that caused it).

use super::Report;
use entity::{app_event, event_seq, read};
use sea_orm::{DatabaseTransaction, DbErr, EntityTrait, QueryOrder, QuerySelect};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Events by `(app, seq)`, as the read model holds them.
pub(super) type Events = BTreeMap<(Uuid, i64), read::app_event::Model>;

/// A read model's events, and how far each app's were pruned (its floor).
pub(super) struct Projected {
    events: Events,
    floors: HashMap<Uuid, i64>,
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

/// Checks that each app's events run without a gap and end at the last number it gave,
/// and answers the events whole where `whole` (a read model of its own compares them);
/// otherwise only their numbers are read.
pub(super) async fn check(
    db: &DatabaseTransaction,
    whole: bool,
    report: &mut Report,
) -> Result<Option<Events>, DbErr> {
    let (numbers, events): (Vec<(Uuid, i64)>, _) = if whole {
        let events: Events = app_event::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|e| ((e.app_id, e.seq), e.into()))
            .collect();
        (events.keys().copied().collect(), Some(events))
    } else {
        let numbers = app_event::Entity::find()
            .select_only()
            .columns([app_event::Column::AppId, app_event::Column::Seq])
            .order_by_asc(app_event::Column::AppId)
            .order_by_asc(app_event::Column::Seq)
            .into_tuple()
            .all(db)
            .await?;
        (numbers, None)
    };
    let given: HashMap<Uuid, i64> = event_seq::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.app_id, row.seq))
        .collect();
    let mut last: BTreeMap<Uuid, i64> = BTreeMap::new();
    for (app, seq) in numbers {
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
    Ok(events)
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
    // Below the event store's lowest, an event was pruned there after the read model's.
    for &(app, seq) in events.keys().filter(|key| !store.contains_key(key)) {
        if lowest.get(&app).is_some_and(|low| seq > *low) {
            report.differ(format!(
                "app {app}: the read model has event {seq}, which the event store has not"
            ));
        }
    }
}
