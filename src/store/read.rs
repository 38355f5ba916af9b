//! The reads of the event store: entries (for replays and for entries not projected yet),
//! postings in order (for rebuild and verify), balances in the past, the async entries
//! left pending, and which API keys are unrevoked. Current balances and history are read from the read model (`crate::query`).

use super::holds::add_holds;
use super::lots::add_lots;
use super::reversals::add_reversals;
use super::{Store, StoreError, events};
use crate::decimal::stored_decimal;
use crate::ledger::command::account_id;
use crate::ledger::record::EntryRecord;
use entity::{api_key, entry, entry_event, pending_entry, posting};
use rust_decimal::Decimal;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Which of these API keys are not revoked: for a read endpoint's check, and read with the
/// rest of a batch in its transaction.
pub async fn live_keys(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashSet<Uuid>, DbErr> {
    Ok(live_keys_query(ids)
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The ids of these API keys that are not revoked.
pub(super) fn live_keys_query(ids: impl IntoIterator<Item = Uuid>) -> Select<api_key::Entity> {
    api_key::Entity::find()
        .select_only()
        .column(api_key::Column::Id)
        .filter(api_key::Column::Id.is_in(ids))
        .filter(api_key::Column::RevokedAt.is_null())
}

/// A balance and the version of the posting that produced it (0: no posting yet), with
/// what open holds hold of it (`available = balance − held`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Balance {
    pub balance: Decimal,
    pub version: i64,
    pub held: Decimal,
}

/// The records of these entries, by id, as the event store holds them; unknown ids are
/// absent. A read model in the event store's database reads its entries here too.
pub async fn entry_records(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, EntryRecord>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = entry::Entity::find()
        .filter(entry::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    let events = events::unfold(
        entry_event::Entity::find()
            .filter(entry_event::Column::EntryId.is_in(ids.to_vec()))
            .all(db)
            .await?,
    )?;
    let postings = posting::Entity::find()
        .filter(posting::Column::EntryId.is_in(ids.to_vec()))
        .all(db)
        .await?;
    let mut records: HashMap<Uuid, EntryRecord> = rows
        .into_iter()
        .map(|mut entry| {
            let events = events::take_from_entry(&mut entry)?;
            let record = EntryRecord::new(entry, events);
            Ok((record.entry.id, record))
        })
        .collect::<Result<_, DbErr>>()?;
    for posting in postings {
        if let Some(r) = records.get_mut(&posting.entry_id) {
            r.postings.push(posting);
        }
    }
    add_lots(db, ids, &mut records).await?;
    add_holds(db, &mut records).await?;
    add_reversals(db, &mut records).await?;
    for event in events {
        if let Some(r) = records.get_mut(&event.entry_id) {
            r.events.push(event);
        }
    }
    records.values_mut().for_each(EntryRecord::order_postings);
    Ok(records)
}

impl Store {
    /// An app's entry, or `None` if it does not exist or belongs to another app.
    pub async fn entry(&self, app_id: Uuid, id: Uuid) -> Result<Option<EntryRecord>, StoreError> {
        let mut found = self.entries(&[id]).await?;
        Ok(found.remove(&id).filter(|r| r.entry.app_id == app_id))
    }

    /// The records of these entries, by id; unknown ids are absent.
    pub async fn entries(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, EntryRecord>, StoreError> {
        entry_records(self.conn(), ids).await
    }

    /// Up to `limit` postings in (account, version) order, starting after `after`: every
    /// account's postings in order, for a walk over the whole ledger.
    pub async fn postings_after(
        &self,
        after: Option<(Uuid, i64)>,
        limit: u64,
    ) -> Result<Vec<posting::Model>, DbErr> {
        postings_after(self.conn(), after, limit).await
    }

    /// The entry that holds `nonce` of `app_id`, if one does: its id and request hash (a
    /// read; nothing is claimed).
    pub async fn nonce_holder(
        &self,
        app_id: Uuid,
        nonce: &str,
    ) -> Result<Option<(Uuid, String)>, StoreError> {
        Ok(nonce_holder(self.conn(), app_id, nonce).await?)
    }

    /// Up to `limit` postings of one account after version `after`, in version order.
    pub async fn account_postings(
        &self,
        account: Uuid,
        after: i64,
        limit: u64,
    ) -> Result<Vec<posting::Model>, StoreError> {
        Ok(posting::Entity::find()
            .filter(posting::Column::AccountId.eq(account))
            .filter(posting::Column::Version.gt(after))
            .order_by_asc(posting::Column::Version)
            .limit(limit)
            .all(self.conn())
            .await?)
    }

    /// The balance of account `(app, owner, asset)` at time `at` (µs since the epoch): the
    /// `balance_after` of its last posting recorded at or before `at`. One index lookup on
    /// `(account_id, recorded_at)`; `recorded_at` never decreases along an account's versions.
    pub async fn balance_at(
        &self,
        app_id: Uuid,
        owner: &str,
        asset: &str,
        at: i64,
    ) -> Result<Balance, StoreError> {
        let last = posting::Entity::find()
            .filter(posting::Column::AccountId.eq(account_id(app_id, owner, asset)))
            .filter(posting::Column::RecordedAt.lte(at))
            .order_by_desc(posting::Column::RecordedAt)
            .order_by_desc(posting::Column::Version)
            .limit(1)
            .one(self.conn())
            .await?;
        let Some(last) = last else {
            return Ok(Balance::default());
        };
        let posted = stored_decimal(&last.balance_after).map_err(StoreError::Corrupt)?;
        let (gone, held) = self.gone_and_held(&last, at).await?;
        Ok(Balance {
            balance: posted - gone,
            version: last.version,
            held,
        })
    }

    /// The status of account `(app, owner, asset)` in the event store (`active` when it has
    /// no head yet).
    pub async fn account_status(
        &self,
        app_id: Uuid,
        owner: &str,
        asset: &str,
    ) -> Result<String, StoreError> {
        let head = entity::account::Entity::find_by_id(account_id(app_id, owner, asset))
            .one(self.conn())
            .await?;
        Ok(head.map_or_else(|| "active".to_owned(), |a| a.status))
    }

    /// The version of account `(app, owner, asset)` in the event store (0: no posting yet).
    pub async fn head_version(
        &self,
        app_id: Uuid,
        owner: &str,
        asset: &str,
    ) -> Result<i64, StoreError> {
        let head = entity::account::Entity::find_by_id(account_id(app_id, owner, asset))
            .one(self.conn())
            .await?;
        Ok(head.map_or(0, |a| a.version))
    }

    /// The rows of the async entries that are still `received` (pending), oldest first.
    pub async fn pending_entries(&self) -> Result<Vec<entry::Model>, StoreError> {
        let ids: Vec<Uuid> = pending_entry::Entity::find()
            .all(self.conn())
            .await?
            .into_iter()
            .map(|p| p.entry_id)
            .collect();
        let mut rows = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(1_000) {
            let found = entry::Entity::find()
                .filter(entry::Column::Id.is_in(chunk.to_vec()))
                .all(self.conn())
                .await?;
            if found.len() < chunk.len() {
                tracing::error!(
                    missing = chunk.len() - found.len(),
                    "pending entries without their entry row"
                );
            }
            rows.extend(found);
        }
        for row in &mut rows {
            // The workflow resumes from the command; the `received` the row carries is read
            // with the entry's record.
            events::take_from_entry(row)?;
        }
        rows.sort_by_key(|r| (r.created_at, r.id));
        Ok(rows)
    }
}

/// [`Store::nonce_holder`] on `db`: the store's pool, or an async claim's transaction.
pub(super) async fn nonce_holder(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    nonce: &str,
) -> Result<Option<(Uuid, String)>, DbErr> {
    let found = entry::Entity::find()
        .filter(entry::Column::AppId.eq(app_id))
        .filter(entry::Column::Nonce.eq(nonce))
        .one(db)
        .await?;
    Ok(found.map(|e| (e.id, e.request_hash)))
}

/// [`Store::postings_after`] on `db`: the store's pool, or a snapshot of it.
pub async fn postings_after(
    db: &impl ConnectionTrait,
    after: Option<(Uuid, i64)>,
    limit: u64,
) -> Result<Vec<posting::Model>, DbErr> {
    let mut query = posting::Entity::find();
    if let Some((account, version)) = after {
        query = query.filter(
            Condition::any()
                .add(posting::Column::AccountId.gt(account))
                .add(
                    Condition::all()
                        .add(posting::Column::AccountId.eq(account))
                        .add(posting::Column::Version.gt(version)),
                ),
        );
    }
    query
        .order_by_asc(posting::Column::AccountId)
        .order_by_asc(posting::Column::Version)
        .limit(limit)
        .all(db)
        .await
}
