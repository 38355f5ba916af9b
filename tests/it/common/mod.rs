//! The test harness: a fresh database per test (a SQLite file in a temporary directory, or a
//! new PostgreSQL database), the service spawned in-process on a random port, and an app
//! with its API key.

pub mod bus;
pub mod process;
use ledgerflow::api::Ctx;
use ledgerflow::config::Config;
use ledgerflow::query::ReadModel;
use ledgerflow::server;
use ledgerflow::store::Store;
use reqwest::{Client, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;

/// PostgreSQL used by the tests; override with LEDGERFLOW_TEST_POSTGRES.
pub fn postgres_admin_url() -> String {
    std::env::var("LEDGERFLOW_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An HTTP client builder for the tests' own clients. reqwest here has no TLS provider of
/// its own (the workspace gives it the service's `rustls-no-provider`), so ring, the one
/// the service installs, is installed first: a test run alone must not depend on another
/// test having started a service in this process.
pub fn http_client() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// A database that lives as long as the test.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL database to drop when the test ends.
    pg_name: Option<String>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        cleanup(async move {
            let admin = Database::connect(postgres_admin_url().as_str())
                .await
                .ok()?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .ok()
                .map(drop)
        });
    }
}

/// Runs a clean-up from a `Drop`, which is outside async: a short-lived runtime on its own
/// thread runs it to the end. Failures are ignored; it is only tidying.
pub fn cleanup<F>(work: F)
where
    F: std::future::Future<Output = Option<()>> + Send + 'static,
{
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        rt.block_on(work)
    })
    .join();
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!("sqlite://{}/ledger.db", dir.path().display());
                TestDb {
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let admin = Database::connect(admin_url.as_str()).await.unwrap_or_else(|e| {
                    panic!(
                        "these tests need PostgreSQL at {admin_url} (set LEDGERFLOW_TEST_POSTGRES \
                         to use another): {e}"
                    )
                });
                let name = format!("lf_test_{}", uuid::Uuid::new_v4().simple());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("CREATE DATABASE");
                let url = match admin_url.rsplit_once('/') {
                    Some((server, _)) => format!("{server}/{name}"),
                    None => panic!("LEDGERFLOW_TEST_POSTGRES must end in /DATABASE"),
                };
                TestDb {
                    url,
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }
}

/// A running service with one app.
pub struct TestApp {
    pub addr: SocketAddr,
    /// What the service's HTTP API works with.
    pub ctx: Arc<Ctx>,
    /// The service's event store and read model.
    pub store: Store,
    pub read: ReadModel,
    /// Connections of the test's own to the event store's and the read model's databases,
    /// for reading (and tampering with) their tables.
    pub store_sql: DatabaseConnection,
    pub read_sql: DatabaseConnection,
    /// The app's name and key.
    pub name: String,
    pub key: String,
    pub client: Client,
    pub db: Arc<TestDb>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub replay: bool,
    pub content_type: String,
    pub body: Value,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_on(Arc::new(TestDb::new(backend).await), |_| {}).await
    }

    /// A service on an existing database (a second instance, or a restart).
    pub async fn spawn_on(db: Arc<TestDb>, configure: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = Config::with_store(&db.url);
        configure(&mut config);
        let name = format!("app-{}", uuid::Uuid::new_v4().simple());
        let mut app = TestApp::start(&config, name, String::new(), db).await;
        app.key = app.ctx.apps.create(&app.name).await.expect("an app").1;
        app
    }

    /// Another instance of the same service (same databases, same bus), with `key`.
    pub async fn another_instance(&self, key: &str, config: &Config) -> TestApp {
        TestApp::start(config, self.name.clone(), key.to_owned(), self.db.clone()).await
    }

    async fn start(config: &Config, name: String, key: String, db: Arc<TestDb>) -> TestApp {
        let (addr, service) = server::spawn(config).await.expect("the service starts");
        let read_url = config
            .read_model_url
            .as_deref()
            .unwrap_or(&config.event_store_url);
        let connect = |url: &str| {
            let url = url.to_owned();
            async move {
                ledgerflow::store::connect(&url)
                    .await
                    .expect("a connection of the test's own")
            }
        };
        TestApp {
            addr,
            ctx: service.ctx,
            store: service.store,
            read: service.read,
            store_sql: connect(&config.event_store_url).await,
            read_sql: connect(read_url).await,
            name,
            key,
            client: Client::new(),
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn read(resp: reqwest::Response) -> Reply {
        let status = resp.status();
        let replay = resp
            .headers()
            .get("idempotent-replay")
            .is_some_and(|v| v == "true");
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = resp.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            replay,
            content_type,
            body,
        }
    }

    pub async fn post(&self, body: Value) -> Reply {
        self.post_with(&self.key, body, &[]).await
    }

    pub async fn post_with(&self, key: &str, body: Value, headers: &[(&str, &str)]) -> Reply {
        let mut req = self
            .client
            .post(self.url("/v1/entries"))
            .bearer_auth(key)
            .json(&body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        TestApp::read(req.send().await.expect("the request is sent")).await
    }

    /// A POST of `body` to `path` with the app's key.
    pub async fn post_to(&self, path: &str, body: Value) -> Reply {
        let req = self
            .client
            .post(self.url(path))
            .bearer_auth(&self.key)
            .json(&body);
        TestApp::read(req.send().await.expect("the request is sent")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.get_with(&self.key, path).await
    }

    /// Waits until everything written so far is in the read model.
    pub async fn projected(&self) {
        self.ctx
            .projection
            .caught_up(std::time::Duration::from_secs(30))
            .await
            .expect("the projection catches up");
    }

    /// A GET after the projection caught up, so that reads see every earlier write.
    pub async fn get_with(&self, key: &str, path: &str) -> Reply {
        self.projected().await;
        self.get_now(key, path).await
    }

    /// A GET as it comes, without waiting for the projection.
    pub async fn get_now(&self, key: &str, path: &str) -> Reply {
        let resp = self
            .client
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .expect("the request is sent");
        TestApp::read(resp).await
    }

    /// The owner's CREDIT balance, as the API shows it.
    pub async fn balance(&self, owner: &str) -> String {
        let r = self.get(&format!("/v1/accounts/{owner}")).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body["balance"].as_str().expect("a balance").to_owned()
    }

    /// Where entry `id`'s transitions are stored: the state its own row was written in
    /// (`entries.state`), and the states of its `entry_events` rows, in order.
    pub async fn stored_transitions(&self, id: &str) -> (Option<String>, Vec<String>) {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        let id = uuid::Uuid::parse_str(id).expect("an entry id");
        let row = entity::entry::Entity::find_by_id(id)
            .one(&self.store_sql)
            .await
            .expect("the entry's row")
            .expect("an entry row");
        let rows = entity::entry_event::Entity::find()
            .filter(entity::entry_event::Column::EntryId.eq(id))
            .order_by_asc(entity::entry_event::Column::Seq)
            .all(&self.store_sql)
            .await
            .expect("its entry_events rows");
        (row.state, rows.into_iter().map(|r| r.state).collect())
    }

    /// The service's `/metrics` text.
    pub async fn metrics(&self) -> String {
        let resp = self.client.get(self.url("/metrics")).send().await;
        resp.expect("metrics").text().await.expect("text")
    }

    /// The value of metric `name` (a line `name value`) on `/metrics`.
    pub async fn metric(&self, name: &str) -> String {
        let text = self.metrics().await;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{name} in {text}"))
            .to_owned()
    }

    /// A second app on the same service.
    pub async fn another_key(&self) -> String {
        let name = format!("app-{}", uuid::Uuid::new_v4().simple());
        self.ctx.apps.create(&name).await.expect("an app").1
    }
}

/// Declares `NAME_sqlite` and `NAME_postgres` tests that run `NAME(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::common::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::common::Backend::Postgres).await })*
        }
    };
}

/// Checks the event store of `app` from its rows: versions without gaps, every
/// `balance_after` the running sum, heads equal to the last posting, and the books of each
/// asset at zero. Returns the heads: (owner, asset) → (balance, version).
pub async fn assert_ledger_consistent(
    app: &TestApp,
) -> std::collections::BTreeMap<(String, String), (rust_decimal::Decimal, i64)> {
    use entity::{account, posting};
    use rust_decimal::Decimal;
    use sea_orm::{EntityTrait, QueryOrder};
    use std::collections::{BTreeMap, HashMap};
    use std::str::FromStr;

    let conn = &app.store_sql;
    let postings = posting::Entity::find()
        .order_by_asc(posting::Column::Version)
        .all(conn)
        .await
        .expect("postings");
    let mut running: HashMap<uuid::Uuid, (Decimal, i64)> = HashMap::new();
    for p in postings {
        let (balance, version) = running.entry(p.account_id).or_default();
        assert_eq!(p.version, *version + 1, "no version gap in {}", p.owner_id);
        *balance += Decimal::from_str(&p.amount).expect("an amount");
        assert_eq!(
            *balance,
            Decimal::from_str(&p.balance_after).expect("a balance")
        );
        *version = p.version;
    }
    let mut heads = BTreeMap::new();
    let mut books: HashMap<String, Decimal> = HashMap::new();
    for a in account::Entity::find().all(conn).await.expect("heads") {
        let balance = Decimal::from_str(&a.balance).expect("a balance");
        // A head at version 0 only carries a status (an account control before any posting).
        let expected = (a.version > 0).then_some((balance, a.version));
        assert_eq!(
            running.get(&a.id).copied(),
            expected,
            "head of {}",
            a.owner_id
        );
        *books.entry(a.asset.clone()).or_default() += balance;
        heads.insert((a.owner_id, a.asset), (balance, a.version));
    }
    for (asset, sum) in books {
        assert_eq!(sum, Decimal::ZERO, "the books of {asset} sum to zero");
    }
    assert_read_model_equals_store(app).await;
    heads
}

/// The event store and the read model agree, and `verify` finds nothing.
pub async fn verified(app: &TestApp) {
    app.projected().await;
    let report = ledgerflow::projection::verify::verify(&app.store, &app.read)
        .await
        .expect("verify runs");
    assert!(report.is_clean(), "{:?}", report.differences);
    assert_ledger_consistent(app).await;
}

/// Waits for the projection, then runs `ledgerflow verify`'s checks: the read model equals
/// the event store.
pub async fn assert_read_model_equals_store(app: &TestApp) {
    app.projected().await;
    let report = ledgerflow::projection::verify::verify(&app.store, &app.read)
        .await
        .expect("verify runs");
    assert!(report.is_clean(), "verify: {:#?}", report.differences);
}
