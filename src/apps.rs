//! Apps (the ledger's tenants), their API keys and their catalogs.
//!
//! An API key is `lf_` and 64 hex digits of OS randomness. Only its SHA-256 is stored; a
//! request's key is hashed and looked up by that hash, so the key never sits in the
//! database and a stolen database yields no usable key.

use crate::store::{Store, StoreError};
use crate::time::now_micros;
use entity::app;
use operations::{Catalog, CatalogError};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long an authenticated key is trusted without asking the database again.
const CACHE_TTL: Duration = Duration::from_secs(1);

/// An authenticated app and the catalog it posts against.
#[derive(Debug)]
pub struct App {
    pub id: Uuid,
    pub name: String,
    pub catalog: Catalog,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("an app named {0:?} exists already")]
    NameTaken(String),
    #[error("no app is named {0:?}")]
    NotFound(String),
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

/// The apps of a store, with a short-lived cache of authenticated keys.
pub struct Apps {
    store: Store,
    /// The service-wide catalog: base plus `LEDGERFLOW_OPERATIONS` files.
    catalog: Catalog,
    cache: RwLock<HashMap<String, (Arc<App>, Instant)>>,
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Apps {
    pub fn new(store: Store, catalog: Catalog) -> Apps {
        Apps {
            store,
            catalog,
            cache: RwLock::new(HashMap::new()),
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
        let key = format!("lf_{}", hex::encode(rand::random::<[u8; 32]>()));
        let model = app::Model {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            key_hash: hash_key(&key),
            operations: None,
            created_at: now_micros(),
            revoked_at: None,
        }
        .into_active_model()
        .insert(self.store.conn())
        .await?;
        Ok((model, key))
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
        // This process sees the new catalog at once; others within CACHE_TTL.
        if let Ok(mut cache) = self.cache.write() {
            cache.clear();
        }
        Ok(catalog)
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

    /// The app whose key this is, or `None` for an unknown or revoked key.
    pub async fn authenticate(&self, key: &str) -> Result<Option<Arc<App>>, AppError> {
        let hash = hash_key(key);
        if let Ok(cache) = self.cache.read()
            && let Some((app, at)) = cache.get(&hash)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(Some(app.clone()));
        }
        let found = app::Entity::find()
            .filter(app::Column::KeyHash.eq(hash.as_str()))
            .filter(app::Column::RevokedAt.is_null())
            .one(self.store.conn())
            .await?;
        let Some(model) = found else {
            return Ok(None);
        };
        let app = Arc::new(App {
            id: model.id,
            name: model.name.clone(),
            catalog: self.catalog_of(&model)?,
        });
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(hash, (app.clone(), Instant::now()));
        }
        Ok(Some(app))
    }
}
