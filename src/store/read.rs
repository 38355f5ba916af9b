//! The reads of the event store: entries, account heads, balances in the past, history.

use super::{Store, StoreError};
use crate::workflow::apply::stored_decimal;
use crate::workflow::{EntryRecord, account_id};
use entity::{account, entry, entry_event, posting};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// A balance and the version of the posting that produced it (0: no posting yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub balance: Decimal,
    pub version: i64,
}

/// Where a page of an owner's entries starts: after `(created_at, id)`, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    pub created_at: i64,
    pub id: Uuid,
}

impl fmt::Display for PageCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.created_at, self.id.simple())
    }
}

impl FromStr for PageCursor {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let (at, id) = s.split_once('_').ok_or(())?;
        Ok(PageCursor {
            created_at: at.parse().map_err(|_| ())?,
            id: Uuid::try_parse(id).map_err(|_| ())?,
        })
    }
}

/// One page of entries and the cursor of the next page, if there is one.
#[derive(Debug, Clone)]
pub struct EntryPage {
    pub entries: Vec<EntryRecord>,
    pub next: Option<PageCursor>,
}

impl Store {
    /// An app's entry, or `None` if it does not exist or belongs to another app.
    pub async fn entry(&self, app_id: Uuid, id: Uuid) -> Result<Option<EntryRecord>, StoreError> {
        let mut found = self.entries(&[id]).await?;
        Ok(found.remove(&id).filter(|r| r.entry.app_id == app_id))
    }

    /// The records of these entries, by id; unknown ids are absent.
    pub async fn entries(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, EntryRecord>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = entry::Entity::find()
            .filter(entry::Column::Id.is_in(ids.to_vec()))
            .all(self.conn())
            .await?;
        let events = entry_event::Entity::find()
            .filter(entry_event::Column::EntryId.is_in(ids.to_vec()))
            .order_by_asc(entry_event::Column::Seq)
            .all(self.conn())
            .await?;
        let postings = posting::Entity::find()
            .filter(posting::Column::EntryId.is_in(ids.to_vec()))
            .all(self.conn())
            .await?;
        let mut records: HashMap<Uuid, EntryRecord> = rows
            .into_iter()
            .map(|entry| {
                let record = EntryRecord {
                    entry,
                    events: Vec::new(),
                    postings: Vec::new(),
                };
                (record.entry.id, record)
            })
            .collect();
        for event in events {
            if let Some(r) = records.get_mut(&event.entry_id) {
                r.events.push(event);
            }
        }
        for posting in postings {
            if let Some(r) = records.get_mut(&posting.entry_id) {
                r.postings.push(posting);
            }
        }
        for r in records.values_mut() {
            // The owner's leg first, as the workflow wrote them.
            let owner = r.entry.owner_id.clone();
            r.postings.sort_by_key(|p| p.owner_id != owner);
        }
        Ok(records)
    }

    /// The current balance and version of account `(app, owner, asset)`.
    pub async fn balance(
        &self,
        app_id: Uuid,
        owner: &str,
        asset: &str,
    ) -> Result<Balance, StoreError> {
        let head = account::Entity::find_by_id(account_id(app_id, owner, asset))
            .one(self.conn())
            .await?;
        match head {
            Some(a) => Ok(Balance {
                balance: stored_decimal(&a.balance).map_err(StoreError::Corrupt)?,
                version: a.version,
            }),
            None => Ok(Balance {
                balance: Decimal::ZERO,
                version: 0,
            }),
        }
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
        match last {
            Some(p) => Ok(Balance {
                balance: stored_decimal(&p.balance_after).map_err(StoreError::Corrupt)?,
                version: p.version,
            }),
            None => Ok(Balance {
                balance: Decimal::ZERO,
                version: 0,
            }),
        }
    }

    /// An owner's entries (as owner or as counterparty), newest first.
    pub async fn owner_entries(
        &self,
        app_id: Uuid,
        owner: &str,
        after: Option<PageCursor>,
        limit: u64,
    ) -> Result<EntryPage, StoreError> {
        let mut query = entry::Entity::find()
            .select_only()
            .columns([entry::Column::Id, entry::Column::CreatedAt])
            .filter(entry::Column::AppId.eq(app_id))
            .filter(
                Condition::any()
                    .add(entry::Column::OwnerId.eq(owner))
                    .add(entry::Column::CounterpartyId.eq(owner)),
            );
        if let Some(c) = after {
            query = query.filter(
                Condition::any()
                    .add(entry::Column::CreatedAt.lt(c.created_at))
                    .add(
                        Condition::all()
                            .add(entry::Column::CreatedAt.eq(c.created_at))
                            .add(entry::Column::Id.lt(c.id)),
                    ),
            );
        }
        let mut keys: Vec<(Uuid, i64)> = query
            .order_by_desc(entry::Column::CreatedAt)
            .order_by_desc(entry::Column::Id)
            .limit(limit + 1)
            .into_tuple()
            .all(self.conn())
            .await?;
        let next = if keys.len() as u64 > limit {
            keys.truncate(limit as usize);
            keys.last()
                .map(|&(id, created_at)| PageCursor { created_at, id })
        } else {
            None
        };
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut records = self.entries(&ids).await?;
        let entries = ids.iter().filter_map(|id| records.remove(id)).collect();
        Ok(EntryPage { entries, next })
    }
}
