//! Entries as projected: one by id, and an owner's history, newest first, in pages (a
//! system account's is `account_entries.rs`'s). Where the read model shares the event
//! store's database, they are the event store's own rows (DESIGN.md, "Each fact written
//! once").

use super::{PageCursor, QueryError, ReadModel};
use crate::ledger::command::owner_accounts;
use crate::ledger::holds;
use crate::ledger::lots::as_opened;
use crate::ledger::record::EntryRecord;
use crate::store;
use entity::entry;
use entity::read::{
    entry as rm_entry, hold as rm_hold, lot as rm_lot, posting as rm_posting,
    reversal as rm_reversal,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use std::collections::HashMap;
use uuid::Uuid;

/// One page of entries and where the next page starts, if there is one: a [`PageCursor`]
/// in an owner's history, a [`super::PostingCursor`] in a system account's.
#[derive(Debug, Clone)]
pub struct EntryPage<C> {
    pub entries: Vec<EntryRecord>,
    pub next: Option<C>,
}

impl ReadModel {
    /// An app's entry as projected, or `None` if the read model does not have it (yet) or
    /// it belongs to another app.
    pub(super) async fn entry(
        &self,
        app_id: Uuid,
        id: Uuid,
    ) -> Result<Option<EntryRecord>, QueryError> {
        let mut found = self.entries(&[id]).await?;
        Ok(found.remove(&id).filter(|r| r.entry.app_id == app_id))
    }

    pub(super) async fn entries(
        &self,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, EntryRecord>, QueryError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        if self.shares_store() {
            // Sharing the event store's database, its entries are the event store's.
            return Ok(store::entry_records(self.conn(), ids).await?);
        }
        let rows = rm_entry::Entity::find()
            .filter(rm_entry::Column::Id.is_in(ids.to_vec()))
            .all(self.conn())
            .await?;
        let postings = rm_posting::Entity::find()
            .filter(rm_posting::Column::EntryId.is_in(ids.to_vec()))
            .all(self.conn())
            .await?;
        let mut records = HashMap::with_capacity(rows.len());
        let mut opened: Vec<Uuid> = Vec::new();
        // The accounts the entries credited: `rm_lots` is keyed by account first.
        let credited: Vec<Uuid> = rows
            .iter()
            .flat_map(|e| {
                owner_accounts(
                    e.app_id,
                    &e.owner_id,
                    e.counterparty_id.as_deref(),
                    &e.asset,
                )
            })
            .collect();
        for row in rows {
            let events = crate::ledger::transitions::unlist(&row.events, row.id)
                .map_err(|e| QueryError::Corrupt(format!("events of entry {}: {e}", row.id)))?;
            opened.extend(decode::<Uuid>(row.lots.as_deref(), "lots", row.id)?);
            let allocations = decode(row.allocations.as_deref(), "allocations", row.id)?;
            let record = EntryRecord {
                entry: entry::Model {
                    id: row.id,
                    app_id: row.app_id,
                    nonce: row.nonce,
                    request_hash: row.request_hash,
                    operation: row.operation,
                    owner_id: row.owner_id,
                    counterparty_id: row.counterparty_id,
                    asset: row.asset,
                    amount: row.amount,
                    metadata: row.metadata,
                    is_async: row.is_async,
                    created_at: row.created_at,
                    lot_expires_at: row.lot_expires_at,
                    lot_priority: row.lot_priority,
                    hold_id: row.hold_id,
                    reverses: row.reverses,
                    state: None,
                    events: None,
                },
                events,
                postings: Vec::new(),
                lots: Vec::new(),
                allocations,
                holds: Vec::new(),
                reversals: Vec::new(),
                app_events: Vec::new(),
            };
            records.insert(row.id, record);
        }
        for p in postings {
            if let Some(r) = records.get_mut(&p.entry_id) {
                r.postings.push(p.into());
            }
        }
        if !opened.is_empty() {
            let mut lots = rm_lot::Entity::find()
                .filter(rm_lot::Column::AccountId.is_in(credited))
                .filter(rm_lot::Column::Id.is_in(opened))
                .all(self.conn())
                .await?;
            lots.sort_by_key(|l| l.id);
            for lot in lots {
                if let Some(r) = lot.entry_id.and_then(|id| records.get_mut(&id)) {
                    r.lots.push(as_opened(lot.into()));
                }
            }
        }
        self.add_holds(&mut records).await?;
        let ids: Vec<Uuid> = records.keys().copied().collect();
        for row in rm_reversal::Entity::find()
            .filter(rm_reversal::Column::EntryId.is_in(ids))
            .all(self.conn())
            .await?
        {
            if let Some(r) = records.get_mut(&row.entry_id) {
                r.reversals.push(row.into());
            }
        }
        records.values_mut().for_each(EntryRecord::order_postings);
        Ok(records)
    }

    /// Adds to `records` the hold each placed or ended, as it left it.
    async fn add_holds(&self, records: &mut HashMap<Uuid, EntryRecord>) -> Result<(), QueryError> {
        let found: HashMap<Uuid, entity::hold::Model> = rm_hold::Entity::find()
            .filter(rm_hold::Column::Id.is_in(holds::ids_of(records)))
            .all(self.conn())
            .await?
            .into_iter()
            .map(|h| (h.id, h.into()))
            .collect();
        holds::attach(records, &found);
        Ok(())
    }

    /// `ids`' entries in that order; an id the read model lacks is left out.
    pub(super) async fn entries_in_order(
        &self,
        ids: &[Uuid],
    ) -> Result<Vec<EntryRecord>, QueryError> {
        let mut records = self.entries(ids).await?;
        Ok(ids.iter().filter_map(|id| records.remove(id)).collect())
    }

    /// An owner's entries (as owner or as counterparty), of `asset` only if given, newest
    /// first.
    pub(super) async fn owner_entries(
        &self,
        app_id: Uuid,
        owner: &str,
        asset: Option<&str>,
        after: Option<PageCursor>,
        limit: u64,
    ) -> Result<EntryPage<PageCursor>, QueryError> {
        let history = History {
            app_id,
            owner,
            asset,
            after,
        };
        let mut keys = if self.shares_store() {
            history
                .keys::<entry::Entity>(self.conn(), limit + 1)
                .await?
        } else {
            history
                .keys::<rm_entry::Entity>(self.conn(), limit + 1)
                .await?
        };
        let next = if keys.len() as u64 > limit {
            keys.truncate(limit as usize);
            keys.last()
                .map(|&(id, created_at)| PageCursor { created_at, id })
        } else {
            None
        };
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let entries = self.entries_in_order(&ids).await?;
        Ok(EntryPage { entries, next })
    }
}

/// Where a page of an owner's history starts.
struct History<'a> {
    app_id: Uuid,
    owner: &'a str,
    asset: Option<&'a str>,
    after: Option<PageCursor>,
}

impl History<'_> {
    /// `(id, created_at)` of up to `n` entries of the history, newest first, from the
    /// entries of a table `E` with [`HistoryColumns`]: `rm_entries`, or the event store's
    /// `entries` where the read model shares its database. The owner's entries and the
    /// counterparty's are read apart, each down its own history index and no further than
    /// the page needs, and merged: one query for either (an `OR` of the two) read every
    /// entry of the owner, to sort them all before the limit.
    async fn keys<E>(&self, db: &impl ConnectionTrait, n: u64) -> Result<Vec<(Uuid, i64)>, DbErr>
    where
        E: EntityTrait,
        E::Column: HistoryColumns,
    {
        let mut keys: Vec<(Uuid, i64)> = Vec::new();
        for branch in self.branches::<E>(n) {
            keys.extend(branch.into_tuple::<(Uuid, i64)>().all(db).await?);
        }
        keys.sort_unstable_by_key(|&(id, created_at)| std::cmp::Reverse((created_at, id)));
        keys.dedup_by_key(|k| k.0);
        keys.truncate(n as usize);
        Ok(keys)
    }

    /// The page's entries where the owner is the owner, and where it is the counterparty:
    /// each newest first, at most `n`.
    fn branches<E>(&self, n: u64) -> [Select<E>; 2]
    where
        E: EntityTrait,
        E::Column: HistoryColumns,
    {
        [E::Column::OWNER, E::Column::COUNTERPARTY].map(|who| {
            // The app in the condition: without it SQLite, which keeps no statistics, took
            // the `(app_id, nonce)` index and read every entry of the app
            // (`query::entries::tests`).
            let mut query = E::find()
                .select_only()
                .columns([E::Column::ID, E::Column::CREATED_AT])
                .filter(who.eq(self.owner))
                .filter(E::Column::APP.eq(self.app_id));
            if let Some(asset) = self.asset {
                query = query.filter(E::Column::ASSET.eq(asset));
            }
            if let Some(c) = self.after {
                query = query.filter(
                    Condition::any()
                        .add(E::Column::CREATED_AT.lt(c.created_at))
                        .add(
                            Condition::all()
                                .add(E::Column::CREATED_AT.eq(c.created_at))
                                .add(E::Column::ID.lt(c.id)),
                        ),
                );
            }
            query
                .order_by_desc(E::Column::CREATED_AT)
                .order_by_desc(E::Column::ID)
                .limit(n)
        })
    }
}

/// The columns an owner's history is found and paged by, in a table of entries.
trait HistoryColumns: ColumnTrait {
    const ID: Self;
    const APP: Self;
    const OWNER: Self;
    const COUNTERPARTY: Self;
    const ASSET: Self;
    const CREATED_AT: Self;
}

impl HistoryColumns for rm_entry::Column {
    const ID: Self = Self::Id;
    const APP: Self = Self::AppId;
    const OWNER: Self = Self::OwnerId;
    const COUNTERPARTY: Self = Self::CounterpartyId;
    const ASSET: Self = Self::Asset;
    const CREATED_AT: Self = Self::CreatedAt;
}

impl HistoryColumns for entry::Column {
    const ID: Self = Self::Id;
    const APP: Self = Self::AppId;
    const OWNER: Self = Self::OwnerId;
    const COUNTERPARTY: Self = Self::CounterpartyId;
    const ASSET: Self = Self::Asset;
    const CREATED_AT: Self = Self::CreatedAt;
}

/// A JSON column of an entry row; no column is no rows.
fn decode<T: serde::de::DeserializeOwned>(
    text: Option<&str>,
    what: &str,
    entry: Uuid,
) -> Result<Vec<T>, QueryError> {
    text.map_or(Ok(Vec::new()), |text| {
        serde_json::from_str(text)
            .map_err(|e| QueryError::Corrupt(format!("{what} of entry {entry}: {e}")))
    })
}

#[cfg(test)]
mod tests;
