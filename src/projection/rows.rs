//! The read model's rows as the projector and `rebuild` write them: an entry's row, and
//! the upserts that only ever move entries, accounts, lots and checkpoints forward.

use crate::ledger::record::EntryRecord;
use crate::store::Inserts;
use crate::time::now_micros;
use entity::read::{account, app_event, checkpoint, entry, hold, lot, posting, reversal};
use sea_orm::DbErr;
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, OnConflict};
use std::collections::HashMap;
use uuid::Uuid;

/// The read-model row of an entry.
pub fn entry_row(record: &EntryRecord) -> Result<entry::Model, DbErr> {
    let e = &record.entry;
    let events = crate::ledger::transitions::list(&record.events)
        .map_err(|err| DbErr::Custom(format!("cannot encode the events of {}: {err}", e.id)))?;
    // The ids of the lots it opened: the lots themselves are rows of `rm_lots`, as opened
    // but for their bookkeeping columns.
    let opened: Vec<Uuid> = record
        .lots
        .iter()
        .filter(|l| l.entry_id == Some(e.id))
        .map(|l| l.id)
        .collect();
    let lots = (!opened.is_empty())
        .then(|| encode(&opened, "lots", e.id))
        .transpose()?;
    let allocations = (!record.allocations.is_empty())
        .then(|| encode(&record.allocations, "allocations", e.id))
        .transpose()?;
    Ok(entry::Model {
        id: e.id,
        app_id: e.app_id,
        nonce: e.nonce.clone(),
        request_hash: e.request_hash.clone(),
        operation: e.operation.clone(),
        owner_id: e.owner_id.clone(),
        counterparty_id: e.counterparty_id.clone(),
        asset: e.asset.clone(),
        amount: e.amount.clone(),
        metadata: e.metadata.clone(),
        is_async: e.is_async,
        created_at: e.created_at,
        lot_expires_at: e.lot_expires_at,
        lot_priority: e.lot_priority,
        hold_id: e.hold_id,
        reverses: e.reverses,
        state: record.state().as_str().to_owned(),
        last_seq: record.last_seq(),
        events,
        lots,
        allocations,
    })
}

fn encode<T: serde::Serialize>(value: &T, what: &str, entry: Uuid) -> Result<String, DbErr> {
    serde_json::to_string(value)
        .map_err(|err| DbErr::Custom(format!("cannot encode the {what} of {entry}: {err}")))
}

/// Upserts entries; a row only moves to a later transition (`last_seq`).
pub fn add_entries(inserts: &mut Inserts, rows: &[entry::Model]) -> Result<(), DbErr> {
    let newer = OnConflict::column(entry::Column::Id)
        .update_columns([
            entry::Column::State,
            entry::Column::LastSeq,
            entry::Column::Events,
            entry::Column::Lots,
            entry::Column::Allocations,
        ])
        .action_and_where(
            Expr::col((entry::Entity, entry::Column::LastSeq))
                .lt(Expr::col((Alias::new("excluded"), entry::Column::LastSeq))),
        )
        .to_owned();
    inserts.add::<entry::Entity, _>(rows, Some(newer))?;
    Ok(())
}

/// Inserts postings that are not there yet and moves each touched account forward to the
/// newest of them. `rows` must hold, per account, the versions right after the ones the
/// read model had when they were chosen (see the module's invariant).
pub fn add_postings(inserts: &mut Inserts, rows: &[posting::Model]) -> Result<(), DbErr> {
    let absent = OnConflict::columns([posting::Column::AccountId, posting::Column::Version])
        .do_nothing()
        .to_owned();
    inserts.add::<posting::Entity, _>(rows, Some(absent))?;

    let mut heads: HashMap<Uuid, account::Model> = HashMap::new();
    for p in rows {
        let head = account::Model {
            id: p.account_id,
            app_id: p.app_id,
            owner_id: p.owner_id.clone(),
            asset: p.asset.clone(),
            balance: p.balance_after.clone(),
            version: p.version,
            updated_at: p.recorded_at,
        };
        match heads.get(&p.account_id) {
            Some(kept) if kept.version >= p.version => {}
            _ => {
                heads.insert(p.account_id, head);
            }
        }
    }
    let forward = OnConflict::column(account::Column::Id)
        .update_columns([
            account::Column::Balance,
            account::Column::Version,
            account::Column::UpdatedAt,
        ])
        .action_and_where(
            Expr::col((account::Entity, account::Column::Version)).lt(Expr::col((
                Alias::new("excluded"),
                account::Column::Version,
            ))),
        )
        .to_owned();
    let heads: Vec<account::Model> = heads.into_values().collect();
    inserts.add::<account::Entity, _>(&heads, Some(forward))?;
    Ok(())
}

/// Inserts lots and moves those there to the state given. `rows` must be the state of
/// each lot at its account's newest posting applied with them.
pub fn add_lots(inserts: &mut Inserts, rows: &[lot::Model]) -> Result<(), DbErr> {
    let latest = OnConflict::columns([lot::Column::AccountId, lot::Column::Id])
        .update_columns([
            lot::Column::Remaining,
            lot::Column::Status,
            lot::Column::ClosedBy,
            lot::Column::ClosedAt,
            lot::Column::ClosedAmount,
        ])
        .to_owned();
    inserts.add::<lot::Entity, _>(rows, Some(latest))?;
    Ok(())
}

/// Inserts holds and moves those there to the state given; a hold only moves from `held`
/// to how it ended, so a late message of its placement is a no-op.
pub fn add_holds(inserts: &mut Inserts, rows: &[hold::Model]) -> Result<(), DbErr> {
    let ended = OnConflict::column(hold::Column::Id)
        .update_columns([
            hold::Column::Status,
            hold::Column::ClosedBy,
            hold::Column::ClosedAt,
            hold::Column::Captured,
        ])
        .action_and_where(Expr::col((hold::Entity, hold::Column::Status)).eq("held"))
        .to_owned();
    inserts.add::<hold::Entity, _>(rows, Some(ended))?;
    Ok(())
}

/// Upserts what has been reversed of entries; a row only moves to more reversals.
pub fn add_reversals(inserts: &mut Inserts, rows: &[reversal::Model]) -> Result<(), DbErr> {
    let more = OnConflict::column(reversal::Column::EntryId)
        .update_columns([
            reversal::Column::Reversed,
            reversal::Column::Count,
            reversal::Column::ReversalIds,
        ])
        .action_and_where(
            Expr::col((reversal::Entity, reversal::Column::Count))
                .lt(Expr::col((Alias::new("excluded"), reversal::Column::Count))),
        )
        .to_owned();
    inserts.add::<reversal::Entity, _>(rows, Some(more))?;
    Ok(())
}

/// Inserts the apps' events that are not there yet: an event never changes.
pub fn add_app_events(inserts: &mut Inserts, rows: &[app_event::Model]) -> Result<(), DbErr> {
    let absent = OnConflict::columns([app_event::Column::AppId, app_event::Column::Seq])
        .do_nothing()
        .to_owned();
    inserts.add::<app_event::Entity, _>(rows, Some(absent))?;
    Ok(())
}

/// Records how far projector `name` has come; the position only moves forward.
pub fn add_checkpoint(
    inserts: &mut Inserts,
    name: &str,
    position: i64,
    last_committed_at: i64,
) -> Result<(), DbErr> {
    let row = checkpoint::Model {
        name: name.to_owned(),
        position,
        last_committed_at,
        updated_at: now_micros(),
    };
    let forward = OnConflict::column(checkpoint::Column::Name)
        .update_columns([
            checkpoint::Column::Position,
            checkpoint::Column::LastCommittedAt,
            checkpoint::Column::UpdatedAt,
        ])
        .action_and_where(
            Expr::col((checkpoint::Entity, checkpoint::Column::Position)).lte(Expr::col((
                Alias::new("excluded"),
                checkpoint::Column::Position,
            ))),
        )
        .to_owned();
    inserts.add::<checkpoint::Entity, _>(&[row], Some(forward))?;
    Ok(())
}
