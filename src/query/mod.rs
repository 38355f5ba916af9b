//! The reads behind the API's queries. Current balances, entries and owners' histories come
//! from the read model, as far as the projector has applied them. Two answers only the
//! event store has: a balance at a past time (`?at=`, where every posting is), and an entry
//! recorded but not projected yet (so that an id a write answered is never a 404).
//!
//! - [`Queries`] (here): what the API asks, each question sent where its answer is.
//! - [`ReadModel`] (here): the read model's database; [`balance`], [`entries`] and
//!   [`account_entries`] read it.

mod account_entries;
mod audit;
mod balance;
mod cursor;
mod entries;
mod feed;
mod held;
mod holds;
mod lots;
mod tail;
pub mod wake;

pub use cursor::{HistoryCursor, PageCursor, PostingCursor};
pub use entries::EntryPage;
pub use feed::{EventFilter, FeedPage};
pub use holds::HoldRecord;
pub use tail::{Subscription, Tails};

use crate::ledger::command::{OwnerId, account_id};
use crate::ledger::record::EntryRecord;
use crate::store::{Balance, Store, StoreError};
use migration::{MigratorTrait, ReadModelMigrator};
use sea_orm::{DatabaseConnection, DbErr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("read model: {0}")]
    Db(#[from] DbErr),
    #[error("read model: corrupt data: {0}")]
    Corrupt(String),
    /// The read model did not reach the version asked for within the wait.
    #[error("the read model has version {have} of the account, not yet {want}")]
    Behind { want: i64, have: i64 },
    /// A read asked for a version the event store does not have, so it can never arrive.
    #[error("the event store has version {head} of the account; {want} does not exist")]
    VersionNotFound { want: i64, head: i64 },
    /// The app has as many reads waiting for the read model as it may.
    #[error("{0} reads of this app are waiting for the read model already")]
    TooManyHeld(usize),
    /// A read that only the event store can answer failed there.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A handle to the read model database (cheap to clone: a connection pool), and the signal
/// that it moved on.
#[derive(Clone, Debug)]
pub struct ReadModel {
    db: DatabaseConnection,
    /// Counts the projections committed that this process has heard of, to wake the reads
    /// that wait for a version ([`wake`]).
    projected: Arc<watch::Sender<u64>>,
    /// Whether the read model is in the event store's database, where its accounts,
    /// postings, lots, holds, reversals and events are views of the event store's tables
    /// and its entries are the event store's own (DESIGN.md, "Each fact written once"):
    /// nothing is projected there.
    shares_store: bool,
    /// Whether the projector's transactions plan with `store::KEYED_READS`: a read model of
    /// its own on PostgreSQL itself.
    keyed_reads: bool,
}

impl ReadModel {
    /// The read model at `url`: in a database of its own, or in the event store's (its
    /// tables are there, migrated first).
    pub async fn connect(url: &str) -> Result<ReadModel, DbErr> {
        let db = crate::store::connect(url).await?;
        let shares_store = migration::shares_event_store(&db).await?;
        let keyed_reads = !shares_store && migration::is_postgres_itself(&db).await?;
        Ok(ReadModel::on(db, shares_store, keyed_reads))
    }

    /// The read model in the event store's database, through the store's pool.
    pub fn sharing(store: &Store) -> ReadModel {
        ReadModel::on(store.conn().clone(), true, false)
    }

    fn on(db: DatabaseConnection, shares_store: bool, keyed_reads: bool) -> ReadModel {
        ReadModel {
            db,
            projected: Arc::new(watch::Sender::new(0)),
            shares_store,
            keyed_reads,
        }
    }

    /// Whether the projector's transactions plan with `store::KEYED_READS` (see the field).
    pub fn keyed_reads(&self) -> bool {
        self.keyed_reads
    }

    /// Whether the read model is in the event store's database (see the field).
    pub fn shares_store(&self) -> bool {
        self.shares_store
    }

    /// Brings the read model's tables up to date.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        ReadModelMigrator::up(&self.db, None).await
    }

    /// Drops the read model's tables (only those: it may share a database) and creates them
    /// empty.
    pub async fn reset(&self) -> Result<(), DbErr> {
        ReadModelMigrator::refresh(&self.db).await
    }

    /// How many of the read model's migrations are not applied yet (read only).
    pub async fn pending_migrations(&self) -> Result<usize, DbErr> {
        Ok(
            ReadModelMigrator::get_pending_migrations_read_only(&self.db)
                .await?
                .len(),
        )
    }

    /// The connection, for the modules that own SQL on the read model (here and
    /// `projection/`).
    pub(crate) fn conn(&self) -> &DatabaseConnection {
        &self.db
    }
}

/// The API's reads. Cheap to clone.
#[derive(Clone)]
pub struct Queries {
    read: ReadModel,
    store: Store,
    /// Longest a read with `min_version` waits for the read model.
    wait: Duration,
    held: held::Held,
    tails: Tails,
}

impl Queries {
    /// `max_held`: most reads of one app that may wait for the read model at once.
    pub fn new(read: ReadModel, store: Store, wait: Duration, max_held: usize) -> Queries {
        Queries {
            read,
            store,
            wait,
            held: held::Held::new(max_held),
            tails: Tails::default(),
        }
    }

    /// Up to `limit` of `app`'s events after `after` that `filter` keeps, as projected.
    pub async fn feed(
        &self,
        app: Uuid,
        after: i64,
        limit: u64,
        filter: &EventFilter,
    ) -> Result<FeedPage, QueryError> {
        self.read.feed(app, after, limit, filter).await
    }

    /// `app`'s balance monitors (of `owner` only, if given), from the event store, where
    /// batches keep them.
    pub async fn monitors(
        &self,
        app: Uuid,
        owner: Option<&str>,
        limit: u64,
    ) -> Result<Vec<entity::monitor::Model>, QueryError> {
        Ok(self.store.monitors(app, owner, limit).await?)
    }

    /// `app`'s monitor `id`.
    pub async fn monitor(
        &self,
        app: Uuid,
        id: Uuid,
    ) -> Result<Option<entity::monitor::Model>, QueryError> {
        Ok(self.store.monitor(app, id).await?)
    }

    /// The `seq` of `app`'s newest projected event (0 when it has none).
    pub async fn newest_event(&self, app: Uuid) -> Result<i64, QueryError> {
        self.read.newest_event(app).await
    }

    /// Follows `app`'s events after `after` that `filter` keeps, as they are projected.
    pub fn subscribe(&self, app: Uuid, after: i64, filter: EventFilter) -> Subscription {
        self.tails.subscribe(&self.read, app, after, filter)
    }

    /// The balance of `(app, owner, asset)` as projected; with `min_version`, once the read
    /// model has that version of the account (read-your-writes), waiting up to the
    /// configured wait for it. A version the event store does not have is refused at once
    /// (it can never arrive), and so is a wait past the app's share of waiting reads.
    pub async fn balance(
        &self,
        app_id: Uuid,
        owner: &OwnerId,
        asset: &str,
        min_version: Option<i64>,
    ) -> Result<Balance, QueryError> {
        let found = self.read.balance(app_id, owner.as_str(), asset).await?;
        let Some(want) = min_version.filter(|v| *v > found.version) else {
            return Ok(found);
        };
        let head = self
            .store
            .head_version(app_id, owner.as_str(), asset)
            .await?;
        if want > head {
            return Err(QueryError::VersionNotFound { want, head });
        }
        let _held = self.held.hold(app_id)?;
        self.read
            .balance_at_least(app_id, owner.as_str(), asset, want, self.wait)
            .await
    }

    /// The balance at time `at` (µs since the epoch), from the event store.
    pub async fn balance_at(
        &self,
        app_id: Uuid,
        owner: &OwnerId,
        asset: &str,
        at: i64,
    ) -> Result<Balance, QueryError> {
        Ok(self
            .store
            .balance_at(app_id, owner.as_str(), asset, at)
            .await?)
    }

    /// The lots of `(app, owner, asset)` as projected: the open ones in drawdown order, and
    /// with `closed` the others after them.
    pub async fn lots(
        &self,
        app_id: Uuid,
        owner: &OwnerId,
        asset: &str,
        closed: bool,
    ) -> Result<Vec<entity::lot::Model>, QueryError> {
        self.read
            .lots(
                app_id,
                owner.as_str(),
                asset,
                closed,
                crate::time::now_micros(),
            )
            .await
    }

    /// An app's lot as the event store holds it now (what a void acts on), with its
    /// account's head.
    pub async fn lot(
        &self,
        app_id: Uuid,
        id: Uuid,
    ) -> Result<Option<(entity::lot::Model, entity::account::Model)>, QueryError> {
        Ok(self.store.lot(app_id, id).await?)
    }

    /// An app's entry as the event store holds it (what a reversal acts on).
    pub async fn stored_entry(
        &self,
        app_id: Uuid,
        id: Uuid,
    ) -> Result<Option<EntryRecord>, QueryError> {
        Ok(self.store.entry(app_id, id).await?)
    }

    /// An app's entry: from the read model, or from the event store when it is not
    /// projected yet. `None` if it does not exist or belongs to another app.
    pub async fn entry(&self, app_id: Uuid, id: Uuid) -> Result<Option<EntryRecord>, QueryError> {
        let found = self.read.entry(app_id, id).await?;
        if found.is_some() || self.read.shares_store() {
            return Ok(found);
        }
        Ok(self.store.entry(app_id, id).await?)
    }

    /// An owner's entries (as owner or as counterparty), of `asset` only if given, newest
    /// first.
    pub async fn owner_entries(
        &self,
        app_id: Uuid,
        owner: &OwnerId,
        asset: Option<&str>,
        after: Option<PageCursor>,
        limit: u64,
    ) -> Result<EntryPage<PageCursor>, QueryError> {
        self.read
            .owner_entries(app_id, owner.as_str(), asset, after, limit)
            .await
    }

    /// The entries that posted to the account `(app, owner, asset)`, newest first: a
    /// system account's history, which no entry names as its owner.
    pub async fn account_entries(
        &self,
        app_id: Uuid,
        owner: &OwnerId,
        asset: &str,
        from: Option<PostingCursor>,
        limit: u64,
    ) -> Result<EntryPage<PostingCursor>, QueryError> {
        let account = account_id(app_id, owner.as_str(), asset);
        self.read.account_entries(account, from, limit).await
    }

    /// The account's status (`active`, `frozen`, `closed`), from the event store: a control
    /// moves no balance, so the read model has no version that would say it arrived.
    pub async fn account_status(
        &self,
        app_id: Uuid,
        owner: &OwnerId,
        asset: &str,
    ) -> Result<String, QueryError> {
        Ok(self
            .store
            .account_status(app_id, owner.as_str(), asset)
            .await?)
    }

    /// Whether the event store answers.
    pub async fn ping(&self) -> Result<(), QueryError> {
        Ok(self.store.ping().await?)
    }

    /// How many migrations the event store lacks, if it answers.
    pub async fn event_store_pending(&self) -> Result<usize, QueryError> {
        Ok(self.store.pending_migrations().await?)
    }

    /// How many migrations the read model lacks, if it answers.
    pub async fn read_model_pending(&self) -> Result<usize, QueryError> {
        Ok(self.read.pending_migrations().await?)
    }
}
