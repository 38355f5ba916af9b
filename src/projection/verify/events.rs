//! The apps' events' part of `verify`. In the event store, each app's `seq`s run without a
//! gap from just above its floor (where the retention pruned them) up to the last number
//! its `event_seqs` row gave, which is what lets the feed promise a gap-free `seq`. A read
//! model of its own holds the event store's rows, the same, above its floor, once it has
//! every entry (an event is written in the transaction of the entry that caused it).
//!
//! The floors are read after the event store's snapshot was taken: the retention raises an
//! app's floor before it deletes the events below it, so a floor read later covers every
//! event that snapshot lacks for having been pruned.

use super::Report;
use entity::{app_event, event_seq, read};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryOrder, QuerySelect};
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
    let floors = read_floors(db).await?;
    Ok(Projected { events, floors })
}

/// How far each app's events were pruned (the read model's floors).
pub(super) async fn read_floors(db: &impl ConnectionTrait) -> Result<HashMap<Uuid, i64>, DbErr> {
    Ok(read::event_floor::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.app_id, f.seq))
        .collect())
}

/// Checks that each app's events run without a gap from just above its floor (`floors`,
/// read after `db`'s snapshot) to the last number it gave, and answers the events whole
/// where `whole` (a read model of its own compares them); otherwise only their numbers are
/// read.
pub(super) async fn check(
    db: &DatabaseTransaction,
    floors: &HashMap<Uuid, i64>,
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
    let given: BTreeMap<Uuid, i64> = event_seq::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.app_id, row.seq))
        .collect();
    check_numbers(&numbers, &given, floors, report);
    Ok(events)
}

/// `numbers` (each app's kept events' `seq`s, ascending) against what each app numbered
/// (`given`) and pruned (`floors`): a run without a gap from just above the floor to the
/// last number given.
fn check_numbers(
    numbers: &[(Uuid, i64)],
    given: &BTreeMap<Uuid, i64>,
    floors: &HashMap<Uuid, i64>,
    report: &mut Report,
) {
    let mut kept: BTreeMap<Uuid, Kept> = BTreeMap::new();
    for &(app, seq) in numbers {
        // An app's first kept event follows nothing: it starts its run.
        let run = kept.entry(app).or_insert(Kept {
            first: seq,
            last: seq - 1,
        });
        if seq != run.last + 1 {
            let before = run.last;
            report.differ(format!(
                "app {app}: event {seq} follows event {before}: the events have a gap"
            ));
        }
        run.last = seq;
    }
    for (app, run) in &kept {
        let numbered = given.get(app).copied().unwrap_or(0);
        if run.last != numbered {
            let last = run.last;
            report.differ(format!(
                "app {app}: its last event is {last}, but {numbered} were numbered"
            ));
        }
    }
    for (&app, &numbered) in given {
        let floor = floors.get(&app).copied().unwrap_or(0);
        // The first number the event store must still hold, and the first it holds.
        let due = floor + 1;
        let first = kept.get(&app).map_or(numbered + 1, |run| run.first);
        if numbered >= due && first > due {
            let to = (first - 1).min(numbered);
            let missing = match to == due {
                true => format!("event {due} is"),
                false => format!("events {due} to {to} are"),
            };
            report.differ(format!(
                "app {app}: {missing} missing (numbered up to {numbered}, pruned up to {floor})"
            ));
        }
    }
}

/// The numbers an app's kept events run over: its first and its last.
struct Kept {
    first: i64,
    last: i64,
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

#[cfg(test)]
mod tests {
    use super::{Report, check_numbers};
    use std::collections::{BTreeMap, HashMap};
    use uuid::Uuid;

    /// The differences `check_numbers` reports for one app's kept `seqs`, `numbered` given
    /// and `floor` pruned.
    fn differences(seqs: &[i64], numbered: i64, floor: Option<i64>) -> Vec<String> {
        let app = Uuid::nil();
        let numbers: Vec<(Uuid, i64)> = seqs.iter().map(|&seq| (app, seq)).collect();
        let given = BTreeMap::from([(app, numbered)]);
        let floors: HashMap<Uuid, i64> = floor.map(|f| (app, f)).into_iter().collect();
        let mut report = Report::default();
        check_numbers(&numbers, &given, &floors, &mut report);
        let prefix = format!("app {app}: ");
        (report.differences.iter())
            .map(|d| d.trim_start_matches(&prefix).to_owned())
            .collect()
    }

    #[test]
    fn every_number_given_above_the_floor_is_kept() {
        assert!(differences(&[1, 2, 3], 3, None).is_empty());
        // Pruned up to 2: 3 on must be kept; 1 and 2 may still be (pruned after the floor rose).
        assert!(differences(&[3, 4], 4, Some(2)).is_empty());
        assert!(differences(&[1, 2, 3, 4], 4, Some(2)).is_empty());
        // All pruned, and nothing numbered since.
        assert!(differences(&[], 4, Some(4)).is_empty());
        assert!(differences(&[], 0, None).is_empty());
    }

    #[test]
    fn events_missing_first_or_all_of_them_are_found() {
        assert_eq!(
            differences(&[3, 4], 4, None),
            ["events 1 to 2 are missing (numbered up to 4, pruned up to 0)"]
        );
        assert_eq!(
            differences(&[2, 3], 3, None),
            ["event 1 is missing (numbered up to 3, pruned up to 0)"]
        );
        assert_eq!(
            differences(&[], 5, Some(2)),
            ["events 3 to 5 are missing (numbered up to 5, pruned up to 2)"]
        );
        assert_eq!(
            differences(&[1, 2, 4], 5, None),
            [
                "event 4 follows event 2: the events have a gap",
                "its last event is 4, but 5 were numbered"
            ]
        );
    }
}
