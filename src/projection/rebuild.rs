//! `ledgerflow rebuild`: drops the read model and builds it again from the event store.
//!
//! Safe beside running projectors: they only apply a posting whose version is the next one
//! of its account, so while the rebuild refills an account they wait, and what either side
//! writes twice is written the same.

use super::rows::{
    add_app_events, add_checkpoint, add_entries, add_holds, add_lots, add_postings, add_reversals,
    entry_row,
};
use crate::query::ReadModel;
use crate::store::{Inserts, Store};
use crate::time::now_micros;
use entity::read::event_floor;
use entity::{app_event, entry, hold, lot, posting, reversal};
use indicatif::ProgressBar;
use sea_orm::{
    ColumnTrait, Condition, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use uuid::Uuid;

/// Rows read from the event store per query.
const PAGE: u64 = 2_000;

/// What a rebuild wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rebuilt {
    pub entries: u64,
    pub postings: u64,
}

/// Drops and refills the read model; `progress` counts entries and postings copied.
/// Sharing the event store's database, the read model is views of the event store's tables
/// (and its entries are the event store's): nothing is copied there (both counts are 0).
pub async fn rebuild(
    store: &Store,
    read: &ReadModel,
    progress: &ProgressBar,
) -> Result<Rebuilt, DbErr> {
    read.reset().await?;
    let copied = if read.shares_store() {
        Rebuilt::default()
    } else {
        let entries = entry::Entity::find().count(store.conn()).await?;
        progress.set_length(entries + posting::Entity::find().count(store.conn()).await?);
        Rebuilt {
            entries: copy_entries(store, read, progress).await?,
            postings: copy_projected(store, read, progress).await?,
        }
    };
    set_event_floors(store, read).await?;
    let mut inserts = Inserts::new(read.conn().get_database_backend());
    add_checkpoint(&mut inserts, "rebuild", 0, now_micros())?;
    inserts.run(read.conn()).await?;
    progress.finish();
    Ok(copied)
}

/// Copies what a read model of its own projects besides entries: postings, lots, holds,
/// reversals and the apps' events. Returns how many postings.
async fn copy_projected(
    store: &Store,
    read: &ReadModel,
    progress: &ProgressBar,
) -> Result<u64, DbErr> {
    let postings = copy_postings(store, read, progress).await?;
    // After the postings: a projector that applies an entry meanwhile leaves a lot no
    // newer than the event store's, which this copy then writes.
    copy_rows::<lot::Entity, _>(store, read, lot::Column::Id, |l| l.id, add_lots).await?;
    copy_rows::<hold::Entity, _>(store, read, hold::Column::Id, |h| h.id, add_holds).await?;
    let key = reversal::Column::EntryId;
    copy_rows::<reversal::Entity, _>(store, read, key, |r| r.entry_id, add_reversals).await?;
    copy_app_events(store, read).await?;
    Ok(postings)
}

async fn copy_entries(
    store: &Store,
    read: &ReadModel,
    progress: &ProgressBar,
) -> Result<u64, DbErr> {
    let mut copied = 0;
    let mut after = Uuid::nil();
    loop {
        let rows = entry::Entity::find()
            .filter(entry::Column::Id.gt(after))
            .order_by_asc(entry::Column::Id)
            .limit(PAGE)
            .all(store.conn())
            .await?;
        let Some(last) = rows.last() else {
            return Ok(copied);
        };
        after = last.id;
        let ids: Vec<Uuid> = rows.iter().map(|e| e.id).collect();
        let mut records = store
            .entries(&ids)
            .await
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        let mut written = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(record) = records.remove(id) {
                written.push(entry_row(&record)?);
            }
        }
        let mut inserts = Inserts::new(read.conn().get_database_backend());
        add_entries(&mut inserts, &written)?;
        inserts.run(read.conn()).await?;
        copied += written.len() as u64;
        progress.inc(written.len() as u64);
    }
}

/// Copies postings account by account in version order, so that every page continues its
/// accounts exactly where the previous one stopped.
async fn copy_postings(
    store: &Store,
    read: &ReadModel,
    progress: &ProgressBar,
) -> Result<u64, DbErr> {
    let mut copied = 0;
    let mut after: Option<(Uuid, i64)> = None;
    loop {
        let rows = store.postings_after(after, PAGE).await?;
        let Some(last) = rows.last() else {
            return Ok(copied);
        };
        after = Some((last.account_id, last.version));
        let n = rows.len() as u64;
        let rows: Vec<_> = rows.into_iter().map(Into::into).collect();
        let mut inserts = Inserts::new(read.conn().get_database_backend());
        add_postings(&mut inserts, &rows)?;
        let txn = read.conn().begin().await?;
        inserts.run(&txn).await?;
        txn.commit().await?;
        copied += n;
        progress.inc(n);
    }
}

/// Copies the apps' events the event store keeps, in pages by `(app, seq)`.
async fn copy_app_events(store: &Store, read: &ReadModel) -> Result<(), DbErr> {
    let mut after = (Uuid::nil(), 0);
    loop {
        let later_app = app_event::Column::AppId.gt(after.0);
        let same_app = Condition::all()
            .add(app_event::Column::AppId.eq(after.0))
            .add(app_event::Column::Seq.gt(after.1));
        let rows = app_event::Entity::find()
            .filter(Condition::any().add(later_app).add(same_app))
            .order_by_asc(app_event::Column::AppId)
            .order_by_asc(app_event::Column::Seq)
            .limit(PAGE)
            .all(store.conn())
            .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = (last.app_id, last.seq);
        let rows: Vec<_> = rows.into_iter().map(Into::into).collect();
        let mut inserts = Inserts::new(read.conn().get_database_backend());
        add_app_events(&mut inserts, &rows)?;
        inserts.run(read.conn()).await?;
    }
}

/// Marks each app's feed as starting at its oldest kept event.
async fn set_event_floors(store: &Store, read: &ReadModel) -> Result<(), DbErr> {
    let floors: Vec<event_floor::Model> = store
        .oldest_app_events()
        .await
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .into_iter()
        .map(|(app_id, oldest)| event_floor::Model {
            app_id,
            seq: oldest - 1,
        })
        .collect();
    let mut inserts = Inserts::new(read.conn().get_database_backend());
    inserts.add::<event_floor::Entity, _>(&floors, None)?;
    inserts.run(read.conn()).await
}

/// Copies every row of `E` (bookkeeping: lots, holds, reversals) as the event store holds
/// it now, in pages by its key `key` (of each row: `key_of`), with the read model's upsert
/// `add`.
async fn copy_rows<E, R>(
    store: &Store,
    read: &ReadModel,
    key: E::Column,
    key_of: fn(&E::Model) -> Uuid,
    add: fn(&mut Inserts, &[R]) -> Result<(), DbErr>,
) -> Result<(), DbErr>
where
    E: EntityTrait,
    E::Model: Into<R>,
{
    let mut after = Uuid::nil();
    loop {
        let rows = E::find()
            .filter(key.gt(after))
            .order_by_asc(key)
            .limit(PAGE)
            .all(store.conn())
            .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = key_of(last);
        let rows: Vec<R> = rows.into_iter().map(Into::into).collect();
        let mut inserts = Inserts::new(read.conn().get_database_backend());
        add(&mut inserts, &rows)?;
        inserts.run(read.conn()).await?;
    }
}
