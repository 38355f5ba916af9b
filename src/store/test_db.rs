//! Databases for the unit tests: the PostgreSQL server they use, and a fresh database on it.

use sea_orm::{Database, DatabaseConnection, DbBackend};

/// The PostgreSQL server the unit tests use, as the integration tests do:
/// `LEDGERFLOW_TEST_POSTGRES`, a URL ending in `/DATABASE`.
pub fn test_postgres_url() -> String {
    std::env::var("LEDGERFLOW_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database of its own on the unit tests' PostgreSQL server ([`test_postgres_url`]), for
/// a test that needs a fresh store; [`TestDatabase::drop`] removes it.
pub struct TestDatabase {
    admin: DatabaseConnection,
    name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create(prefix: &str) -> TestDatabase {
        use sea_orm::ConnectionTrait;
        let admin_url = test_postgres_url();
        let admin = Database::connect(admin_url.as_str())
            .await
            .unwrap_or_else(|e| panic!("this test needs PostgreSQL at {admin_url}: {e}"));
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let create =
            sea_orm::Statement::from_string(DbBackend::Postgres, format!("CREATE DATABASE {name}"));
        admin.execute_raw(create).await.expect("CREATE DATABASE");
        let (server, _) = admin_url
            .rsplit_once('/')
            .expect("a URL ending in /DATABASE");
        let url = format!("{server}/{name}");
        TestDatabase { admin, name, url }
    }

    pub async fn drop(self) {
        use sea_orm::ConnectionTrait;
        let sql = format!("DROP DATABASE {} WITH (FORCE)", self.name);
        let drop = sea_orm::Statement::from_string(DbBackend::Postgres, sql);
        self.admin.execute_raw(drop).await.expect("DROP DATABASE");
    }
}
