//! How an entry's transitions are stored: one `entry_events` row per write, not per
//! transition.
//!
//! A sync entry goes through six states in one transaction; storing each as a row made
//! transitions most of the rows a write inserted. A write now stores its last transition
//! as the row (with the failure, if it failed) and the ones before it, in order, in the
//! row's `earlier` column. Reading expands rows back into the transitions, so everything
//! above the store sees one `entry_event::Model` per transition, as before. Rows written
//! before this (one per transition, `earlier` empty) read the same.
//!
//! A write that inserts its entry's row stores its transitions in that row instead
//! (`entries.state` and `entries.events`), so a sync entry, written once, costs one row
//! and one index entry fewer. `entry_events` then holds only the later writes of async
//! entries: an async claim's `received` is in the row it stores.

use crate::ledger::transitions::{list, unlist};
use entity::{entry, entry_event};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The entry rows and the `entry_events` rows that store a write: `entries` (those it
/// inserts) with their transitions of `events` in their own columns, and the rows that
/// store the rest of `events` ([`fold`]).
pub fn fold_into_entries(
    entries: &[entry::Model],
    events: &[entry_event::Model],
) -> Result<(Vec<entry::Model>, Vec<entry_event::Model>), DbErr> {
    let mut firsts: HashMap<Uuid, &[entry_event::Model]> = entries
        .iter()
        .map(|e| (e.id, &[] as &[entry_event::Model]))
        .collect();
    let mut later = Vec::new();
    for write in events.chunk_by(|a, b| a.entry_id == b.entry_id) {
        match firsts.get_mut(&write[0].entry_id) {
            Some(first) => *first = write,
            None => later.extend_from_slice(write),
        }
    }
    let mut rows = entries.to_vec();
    for row in &mut rows {
        let write = firsts.get(&row.id).copied().unwrap_or_default();
        if let Some(last) = write.last() {
            row.state = Some(last.state.clone());
            row.events = Some(list(write).map_err(|e| DbErr::Custom(e.to_string()))?);
        }
    }
    Ok((rows, fold(&later)?))
}

/// Moves the transitions `row` carries (see [`fold_into_entries`]) out of it.
pub fn take_from_entry(row: &mut entry::Model) -> Result<Vec<entry_event::Model>, DbErr> {
    row.state = None;
    match row.events.take() {
        None => Ok(Vec::new()),
        Some(text) => unlist(&text, row.id)
            .map_err(|e| DbErr::Custom(format!("entry {}: unreadable transitions: {e}", row.id))),
    }
}

/// The entries among `ids` that reached `state`, in the write that inserted them or in a
/// later one.
pub async fn entries_reached(
    db: &impl ConnectionTrait,
    state: &str,
    ids: &[Uuid],
) -> Result<HashSet<Uuid>, DbErr> {
    let mut reached: HashSet<Uuid> = entry::Entity::find()
        .select_only()
        .column(entry::Column::Id)
        .filter(entry::Column::Id.is_in(ids.to_vec()))
        .filter(entry::Column::State.eq(state))
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let later = entry_event::Entity::find()
        .select_only()
        .column(entry_event::Column::EntryId)
        .filter(entry_event::Column::EntryId.is_in(ids.to_vec()))
        .filter(entry_event::Column::State.eq(state))
        .into_tuple::<Uuid>()
        .all(db)
        .await?;
    reached.extend(later);
    Ok(reached)
}

/// How many entries reached `state` (a state an entry reaches once: `completed`, `failed`).
pub async fn count_reached(db: &impl ConnectionTrait, state: &str) -> Result<u64, DbErr> {
    let first = entry::Entity::find()
        .filter(entry::Column::State.eq(state))
        .count(db)
        .await?;
    let later = entry_event::Entity::find()
        .filter(entry_event::Column::State.eq(state))
        .count(db)
        .await?;
    Ok(first + later)
}

/// The rows that store `events` (each entry's transitions of this write, in order).
pub fn fold(events: &[entry_event::Model]) -> Result<Vec<entry_event::Model>, DbErr> {
    let mut rows = Vec::new();
    for write in events.chunk_by(|a, b| a.entry_id == b.entry_id) {
        let (last, before) = match write.split_last() {
            Some(split) => split,
            None => continue,
        };
        // A transition with a failure before the last would lose it if folded: stored as
        // its own row instead (the workflow does not write one).
        let (folded, own): (Vec<_>, Vec<_>) = before
            .iter()
            .partition(|e| e.failure_code.is_none() && e.failure_detail.is_none());
        rows.extend(own.into_iter().cloned());
        let mut row = last.clone();
        if !folded.is_empty() {
            // Only the last transition of a write carries a failure: these list as
            // `{seq, state, at}`.
            row.earlier = Some(list(folded).map_err(|e| DbErr::Custom(e.to_string()))?);
        }
        rows.push(row);
    }
    Ok(rows)
}

/// The transitions stored in `rows`, one model each (`earlier` empty), ordered by entry as
/// the rows are and by `seq` within an entry.
pub fn unfold(rows: Vec<entry_event::Model>) -> Result<Vec<entry_event::Model>, DbErr> {
    let mut events = Vec::with_capacity(rows.len() * 6);
    for mut row in rows {
        if let Some(text) = row.earlier.take() {
            events.extend(unlist(&text, row.entry_id).map_err(|e| {
                DbErr::Custom(format!(
                    "entry {} event {}: unreadable earlier transitions: {e}",
                    row.entry_id, row.seq
                ))
            })?);
        }
        events.push(row);
    }
    events.sort_by_key(|e| (e.entry_id, e.seq));
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::transitions::event;

    #[test]
    fn a_write_is_one_row_and_reads_back_as_its_transitions() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let states = [
            "received",
            "validating",
            "nonce_check",
            "balance_check",
            "processing",
        ];
        let mut events: Vec<_> = states
            .iter()
            .enumerate()
            .map(|(i, s)| event(a, i as i32, s, None))
            .collect();
        events.push(event(a, 5, "completed", None));
        events.push(event(b, 1, "validating", None));
        events.push(event(b, 2, "failed", Some("insufficient_funds")));

        let rows = fold(&events).expect("fold");
        assert_eq!(rows.len(), 2, "one row per entry written");
        assert_eq!((rows[0].seq, rows[0].state.as_str()), (5, "completed"));
        assert_eq!(rows[1].failure_code.as_deref(), Some("insufficient_funds"));

        let mut expected = events.clone();
        expected.sort_by_key(|e| (e.entry_id, e.seq));
        assert_eq!(unfold(rows).expect("unfold"), expected);
    }

    #[test]
    fn a_write_that_inserts_its_entry_stores_its_transitions_on_the_entry_row() {
        let (new, older) = (Uuid::now_v7(), Uuid::now_v7());
        let inserted = entry::Model {
            id: new,
            nonce: "n1".into(),
            operation: "CREDIT_SPEND".into(),
            owner_id: "alice".into(),
            ..Default::default()
        };
        let events = vec![
            event(older, 1, "validating", None),
            event(older, 2, "completed", None),
            event(new, 0, "received", None),
            event(new, 1, "failed", Some("insufficient_funds")),
        ];

        let (rows, transitions) =
            fold_into_entries(std::slice::from_ref(&inserted), &events).expect("fold");

        assert_eq!(rows[0].state.as_deref(), Some("failed"));
        assert_eq!(
            transitions.len(),
            1,
            "only the older entry's write is a row"
        );
        assert_eq!(transitions[0].entry_id, older);
        let mut row = rows[0].clone();
        assert_eq!(
            take_from_entry(&mut row).expect("read"),
            events[2..].to_vec()
        );
        assert_eq!(row, inserted, "the entry as the workflow built it");
        assert!(take_from_entry(&mut row).expect("read").is_empty());
    }

    #[test]
    fn rows_of_one_transition_each_read_as_they_are() {
        let a = Uuid::now_v7();
        let rows = vec![
            event(a, 0, "received", None),
            event(a, 1, "validating", None),
        ];
        assert_eq!(unfold(rows.clone()).expect("unfold"), rows);
        assert_eq!(fold(&rows[..1]).expect("fold"), rows[..1].to_vec());
    }
}
