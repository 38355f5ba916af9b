//! Apps (the ledger's tenants), their API keys and their catalogs.
//!
//! An API key is `lf_` and 64 hex digits of OS randomness. Only its SHA-256 is stored; a
//! request's key is hashed and looked up by that hash, so the key never sits in the
//! database and a stolen database yields no usable key. The lookup is by a hash the caller
//! cannot steer, and the hash found is compared in constant time.
//!
//! An app may hold several keys: `rotate` adds one, `revoke` ends one or all. Every request's
//! key is checked against the database before the request is served (a read endpoint
//! checks it itself through [`Apps::key_live`]; a sync write's batch reads all its keys in
//! one query of its transaction, with the rest it decides on, and `decide` refuses a revoked
//! one), so a revoked key is refused from the next request on, on every instance. Which app
//! a key belongs to is remembered; the app's catalog is cached for `CACHE_TTL` ([`cache`]).
//! Keys are identified here and nowhere else; whether one is revoked is read by
//! `store::live_keys`.

mod bucket;
mod cache;
mod rate;

pub use bucket::Rate;
pub use rate::{Limited, RateLimits};

use crate::store::{Store, StoreError, live_keys};
use crate::time::now_micros;
use cache::AppCache;
use entity::{api_key, app};
use operations::{Catalog, CatalogError};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// How long an app's parsed catalog is reused before it is read again.
const CACHE_TTL: Duration = Duration::from_secs(1);

/// An authenticated app, the catalog it posts against and its own rate limit (`None`: the
/// service's default).
#[derive(Debug)]
pub struct App {
    pub id: Uuid,
    pub name: String,
    pub catalog: Catalog,
    pub rate: Option<Rate>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("an app named {0:?} exists already")]
    NameTaken(String),
    #[error("no app is named {0:?}")]
    NotFound(String),
    #[error("app {0:?} has no unrevoked key {1}")]
    KeyNotFound(String, Uuid),
    #[error("an app name is 1 to 64 of a-z, A-Z, 0-9, - and _")]
    InvalidName,
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        AppError::Store(StoreError::Db(e))
    }
}

/// The apps of a store, with a short-lived cache of their catalogs.
pub struct Apps {
    store: Store,
    /// The service-wide catalog: base plus `LEDGERFLOW_OPERATIONS` files.
    catalog: Catalog,
    cache: AppCache,
    /// Keys seen unrevoked, by hash: (key id, app id). Revocation is not cached: see
    /// [`Apps::identify`].
    keys: RwLock<HashMap<String, (Uuid, Uuid)>>,
}

/// A request's app, identified by its API key.
#[derive(Debug, Clone)]
pub struct Identified {
    pub app: Arc<App>,
    pub key_id: Uuid,
    /// Found unrevoked in the database by this call (not from memory).
    pub checked: bool,
}

pub fn hash_key(key: &str) -> String {
    crate::hex::encode(&Sha256::digest(key.as_bytes()))
}

/// The app's own rate, when `ledgerflow apps limits` set one.
fn rate_of(model: &app::Model) -> Option<Rate> {
    let per_second = u32::try_from(model.rate_per_second?).ok()?;
    let burst = u32::try_from(model.rate_burst?).ok()?;
    Some(Rate { per_second, burst })
}

fn new_key() -> String {
    format!("lf_{}", crate::hex::encode(&rand::random::<[u8; 32]>()))
}

fn key_row(app_id: Uuid, key: &str) -> api_key::Model {
    api_key::Model {
        id: Uuid::now_v7(),
        app_id,
        key_hash: hash_key(key),
        created_at: now_micros(),
        revoked_at: None,
    }
}

impl Apps {
    pub fn new(store: Store, catalog: Catalog) -> Apps {
        Apps {
            store,
            catalog,
            cache: AppCache::new(CACHE_TTL),
            keys: RwLock::new(HashMap::new()),
        }
    }

    /// The service-wide catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Creates an app and returns it with its API key, which is shown this once.
    pub async fn create(&self, name: &str) -> Result<(app::Model, String), AppError> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(AppError::InvalidName);
        }
        if self.find(name).await.is_ok() {
            return Err(AppError::NameTaken(name.to_owned()));
        }
        let key = new_key();
        let txn = self.store.conn().begin().await?;
        let model = app::Model {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            key_hash: hash_key(&key),
            operations: None,
            created_at: now_micros(),
            revoked_at: None,
            rate_per_second: None,
            rate_burst: None,
        }
        .into_active_model()
        .insert(&txn)
        .await?;
        key_row(model.id, &key)
            .into_active_model()
            .insert(&txn)
            .await?;
        txn.commit().await?;
        Ok((model, key))
    }

    /// Adds a key to an app and returns it (shown this once). The app's other keys keep
    /// working until they are revoked, so clients can switch without downtime.
    pub async fn rotate(&self, name: &str) -> Result<(api_key::Model, String), AppError> {
        let app = self.find(name).await?;
        let key = new_key();
        let row = key_row(app.id, &key)
            .into_active_model()
            .insert(self.store.conn())
            .await?;
        Ok((row, key))
    }

    /// Revokes one key of an app, or every key when `key_id` is `None`; returns how many.
    pub async fn revoke(&self, name: &str, key_id: Option<Uuid>) -> Result<u64, AppError> {
        let app = self.find(name).await?;
        let mut update = api_key::Entity::update_many()
            .col_expr(api_key::Column::RevokedAt, Expr::value(now_micros()))
            .filter(api_key::Column::AppId.eq(app.id))
            .filter(api_key::Column::RevokedAt.is_null());
        if let Some(id) = key_id {
            update = update.filter(api_key::Column::Id.eq(id));
        }
        let revoked = update.exec(self.store.conn()).await?.rows_affected;
        if let (Some(id), 0) = (key_id, revoked) {
            return Err(AppError::KeyNotFound(name.to_owned(), id));
        }
        Ok(revoked)
    }

    /// An app's keys, oldest first (hashes only; the keys themselves are not stored).
    pub async fn keys(&self, name: &str) -> Result<Vec<api_key::Model>, AppError> {
        let app = self.find(name).await?;
        Ok(api_key::Entity::find()
            .filter(api_key::Column::AppId.eq(app.id))
            .order_by_asc(api_key::Column::CreatedAt)
            .all(self.store.conn())
            .await?)
    }

    /// Registers an app's own catalog extension after checking that it loads.
    pub async fn set_operations(
        &self,
        name: &str,
        source: &str,
        toml: &str,
    ) -> Result<Catalog, AppError> {
        let mut catalog = self.catalog.clone();
        catalog.extend_from_toml(source, toml)?;
        let found = self.find(name).await?;
        let mut model = found.into_active_model();
        model.operations = Set(Some(toml.to_owned()));
        model.update(self.store.conn()).await?;
        self.forget_apps();
        Ok(catalog)
    }

    /// Sets the app's own rate limit, or with `None` gives it the service's default again.
    pub async fn set_rate(&self, name: &str, rate: Option<Rate>) -> Result<(), AppError> {
        let mut model = self.find(name).await?.into_active_model();
        model.rate_per_second = Set(rate.map(|r| i64::from(r.per_second)));
        model.rate_burst = Set(rate.map(|r| i64::from(r.burst)));
        model.update(self.store.conn()).await?;
        self.forget_apps();
        Ok(())
    }

    /// Drops the cached apps after a change to one: this process sees the change at once,
    /// others within `CACHE_TTL`.
    fn forget_apps(&self) {
        self.cache.clear();
    }

    /// The app's own rate limit, if it has one.
    pub async fn rate(&self, name: &str) -> Result<Option<Rate>, AppError> {
        Ok(rate_of(&self.find(name).await?))
    }

    async fn find(&self, name: &str) -> Result<app::Model, AppError> {
        app::Entity::find()
            .filter(app::Column::Name.eq(name))
            .one(self.store.conn())
            .await?
            .ok_or_else(|| AppError::NotFound(name.to_owned()))
    }

    /// Every app's effective catalog loads, or the first that does not is named.
    pub async fn check_catalogs(&self) -> Result<(), AppError> {
        for model in app::Entity::find().all(self.store.conn()).await? {
            self.catalog_of(&model)?;
        }
        Ok(())
    }

    pub fn catalog_of(&self, model: &app::Model) -> Result<Catalog, CatalogError> {
        let mut catalog = self.catalog.clone();
        if let Some(text) = &model.operations {
            catalog.extend_from_toml(&format!("catalog of app {}", model.name), text)?;
        }
        Ok(catalog)
    }

    /// The app and key id of `key`, or `None` for an unknown key or one found revoked.
    ///
    /// A key seen before is identified from memory, without a query, so the answer says
    /// whether it was `checked` against the database now. An unchecked key must still be
    /// checked for revocation before it is trusted: by [`Apps::key_live`], or by the write
    /// batch, which checks all its requests' keys in one query.
    pub async fn identify(&self, key: &str) -> Result<Option<Identified>, AppError> {
        let hash = hash_key(key);
        let known = self.keys.read().ok().and_then(|k| k.get(&hash).copied());
        let (key_id, app_id, checked) = match known {
            Some((key_id, app_id)) => (key_id, app_id, false),
            // Boxed, as every read of the store here: its future is kilobytes, and each
            // request's future would carry it inline (and be moved with it) even when
            // it is not read.
            None => match Box::pin(self.live_key_of(hash)).await? {
                Some(row) => (row.id, row.app_id, true),
                None => return Ok(None),
            },
        };
        let Some(app) = self.by_id(app_id).await? else {
            return Ok(None);
        };
        Ok(Some(Identified {
            app,
            key_id,
            checked,
        }))
    }

    /// The unrevoked key whose hash is `hash`, remembered once found.
    async fn live_key_of(&self, hash: String) -> Result<Option<api_key::Model>, AppError> {
        let found = api_key::Entity::find()
            .filter(api_key::Column::KeyHash.eq(hash.as_str()))
            .filter(api_key::Column::RevokedAt.is_null())
            .one(self.store.conn())
            .await?;
        let Some(row) = found else {
            return Ok(None);
        };
        if !bool::from(row.key_hash.as_bytes().ct_eq(hash.as_bytes())) {
            return Ok(None);
        }
        if let Ok(mut keys) = self.keys.write() {
            keys.insert(hash, (row.id, row.app_id));
        }
        Ok(Some(row))
    }

    /// Whether `key_id` is still unrevoked (one primary-key read).
    pub async fn key_live(&self, key_id: Uuid) -> Result<bool, AppError> {
        let live = Box::pin(live_keys(self.store.conn(), [key_id])).await;
        Ok(live.map_err(StoreError::Db)?.contains(&key_id))
    }

    /// An app with its catalog, from the cache while it is younger than `CACHE_TTL` (or
    /// while another request reads it again: [`AppCache::get`]).
    pub async fn by_id(&self, app_id: Uuid) -> Result<Option<Arc<App>>, AppError> {
        if let Some(app) = self.cache.get(app_id) {
            return Ok(Some(app));
        }
        Box::pin(self.load(app_id)).await
    }

    /// Reads an app and its catalog, and caches it.
    async fn load(&self, app_id: Uuid) -> Result<Option<Arc<App>>, AppError> {
        let Some(model) = app::Entity::find_by_id(app_id)
            .one(self.store.conn())
            .await?
        else {
            self.cache.forget(app_id);
            return Ok(None);
        };
        let app = Arc::new(App {
            id: model.id,
            name: model.name.clone(),
            catalog: self.catalog_of(&model)?,
            rate: rate_of(&model),
        });
        self.cache.put(app.clone());
        Ok(Some(app))
    }
}
