//! Where the rate limiter's buckets are kept ([`Store::rate_buckets`]).
//!
//! On PostgreSQL and CockroachDB, in the event store. On SQLite, in a database file beside
//! the store's (`ledgerflow.db` → `ledgerflow.db-limits`), which every instance that opens
//! the store finds by the same name, so the instances still share one bucket per app. In WAL mode
//! SQLite drops a connection's whole page cache whenever another connection has committed to
//! its file, and under load a lease is about the only commit beside the batch writer's. In
//! the store's own file every lease (one per 1,000 requests at the default rate) made the
//! writer read every page it then touched from the file again: 2.06 reads per entry and
//! about a twelfth of its CPU (BENCHMARKS.md, issue 17, session 30). The store's own
//! `rate_buckets` table stays, empty there.

use super::{Store, connect};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use tokio::sync::OnceCell;

/// The rate buckets' database where it is not the store's: opened at the first lease.
#[derive(Debug)]
pub(super) struct Limits {
    /// The URL of the file beside the store's; `None` where the buckets are in the store.
    url: Option<String>,
    db: OnceCell<DatabaseConnection>,
}

impl Limits {
    /// Where the buckets of the store at `store_url` are kept.
    pub(super) fn of(store_url: &str) -> Limits {
        Limits {
            url: beside(store_url),
            db: OnceCell::new(),
        }
    }
}

impl Store {
    /// The database that holds the rate limiter's buckets: the store's own, or the file
    /// beside a SQLite store's, opened and given its table at the first call.
    pub(crate) async fn rate_buckets(&self) -> Result<&DatabaseConnection, DbErr> {
        let Some(url) = &self.limits.url else {
            return Ok(&self.db);
        };
        self.limits
            .db
            .get_or_try_init(|| async {
                let db = connect(url).await?;
                let table = db
                    .get_database_backend()
                    .build(&migration::rate_buckets_table());
                db.execute_raw(table).await?;
                Ok(db)
            })
            .await
    }
}

/// `sqlite:PATH-limits[?QUERY]` for a SQLite store in a file; `None` for any other store.
/// An in-memory SQLite database has no file to sit beside, and is one process's alone.
fn beside(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite:")?;
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    let in_memory = path.trim_start_matches('/').is_empty()
        || path.contains(":memory:")
        || query.is_some_and(|q| q.split('&').any(|pair| pair == "mode=memory"));
    if in_memory {
        return None;
    }
    Some(match query {
        Some(query) => format!("sqlite:{path}-limits?{query}"),
        None => format!("sqlite:{path}-limits"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::rate_bucket;
    use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
    use uuid::Uuid;

    #[test]
    fn a_sqlite_file_has_its_buckets_beside_it_and_nothing_else_does() {
        assert_eq!(
            beside("sqlite:///var/lib/lf/ledger.db?mode=rwc").as_deref(),
            Some("sqlite:///var/lib/lf/ledger.db-limits?mode=rwc")
        );
        assert_eq!(
            beside("sqlite://ledger.db").as_deref(),
            Some("sqlite://ledger.db-limits")
        );
        assert_eq!(beside("sqlite::memory:"), None);
        assert_eq!(beside("sqlite://ledger.db?mode=memory&cache=shared"), None);
        assert_eq!(beside("sqlite://"), None);
        assert_eq!(beside("postgres://postgres@127.0.0.1:5432/ledger"), None);
    }

    /// `PRAGMA data_version` on one connection changes only when another connection has
    /// committed to the file: exactly what makes SQLite drop that connection's page cache.
    fn data_version(watcher: &rusqlite::Connection) -> i64 {
        watcher
            .query_row("PRAGMA data_version", [], |row| row.get(0))
            .expect("data_version")
    }

    #[tokio::test]
    async fn a_bucket_written_on_sqlite_commits_nothing_to_the_stores_file() {
        let dir = tempfile::tempdir().expect("a directory");
        let file = dir.path().join("ledger.db");
        let store = Store::connect(&format!("sqlite://{}", file.display()))
            .await
            .expect("a store");
        store.migrate().await.expect("migrated");
        let watcher = rusqlite::Connection::open(&file).expect("a connection of its own");
        let before = data_version(&watcher);

        let bucket = rate_bucket::Model {
            app_id: Uuid::now_v7(),
            tokens_milli: 5_000,
            counted_at: 1,
        };
        let db = store.rate_buckets().await.expect("the buckets' database");
        bucket
            .clone()
            .into_active_model()
            .insert(db)
            .await
            .expect("a bucket");
        assert_eq!(
            data_version(&watcher),
            before,
            "a bucket's write committed to the store's own file"
        );
        let kept = rate_bucket::Entity::find_by_id(bucket.app_id)
            .one(store.rate_buckets().await.expect("the same database"))
            .await
            .expect("a read");
        assert_eq!(kept, Some(bucket));
        assert!(dir.path().join("ledger.db-limits").exists());

        // The watcher does see another connection's commit to the store's file.
        let other = rate_bucket::Model {
            app_id: Uuid::now_v7(),
            tokens_milli: 1,
            counted_at: 1,
        };
        other
            .into_active_model()
            .insert(store.conn())
            .await
            .expect("a write to the store");
        assert_ne!(data_version(&watcher), before);
    }

    #[tokio::test]
    async fn a_store_without_a_file_of_its_own_keeps_its_buckets_in_itself() {
        let store = Store::connect("sqlite::memory:").await.expect("a store");
        let own: *const DatabaseConnection = store.conn();
        let buckets: *const DatabaseConnection = store.rate_buckets().await.expect("buckets");
        assert_eq!(own, buckets);
    }
}
