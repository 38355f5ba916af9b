//! Backup and restore of the embedded (SQLite) event store, with the `ledgerflow` binary.

use crate::common::{Backend, TestApp, TestDb};
use sea_orm::{EntityTrait, QuerySelect};
use serde_json::json;
use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Runs `ledgerflow ARGS` on the event store at `url`, off the async runtime.
async fn ledgerflow(url: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ledgerflow"));
    cmd.env("LEDGERFLOW_EVENT_STORE_URL", url)
        .env_remove("LEDGERFLOW_OPERATIONS")
        .args(args);
    tokio::task::spawn_blocking(move || cmd.output().expect("ledgerflow runs"))
        .await
        .expect("the command's task")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The nonces of the entries in the event store at `url`.
async fn nonces(url: &str) -> HashSet<String> {
    let db = ledgerflow::store::connect(url).await.expect("the store");
    entity::entry::Entity::find()
        .select_only()
        .column(entity::entry::Column::Nonce)
        .into_tuple()
        .all(&db)
        .await
        .expect("entries")
        .into_iter()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_mid_load_restores_to_a_verified_store_with_every_answered_entry() {
    let db = Arc::new(TestDb::new(Backend::Sqlite).await);
    let app = TestApp::spawn_on(db.clone(), |_| {}).await;
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("backup.db");
    let restored = format!("sqlite://{}", dir.path().join("restored.db").display());
    let stop = AtomicBool::new(false);
    let answered = std::sync::Mutex::new(Vec::new());

    let app = &app;
    let load = async {
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            let batch = (0..8).map(|k| {
                let nonce = format!("mid-{i}-{k}");
                let body = json!({"operation": "CREDIT_ADD", "owner_id": format!("o{k}"),
                                  "nonce": nonce, "amount": "1.00"});
                async move { (nonce, app.post(body).await.status) }
            });
            for (nonce, status) in futures::future::join_all(batch).await {
                assert_eq!(status, 201);
                answered.lock().expect("answered").push(nonce);
            }
            i += 1;
        }
    };
    let backup = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before: HashSet<String> = answered.lock().expect("answered").iter().cloned().collect();
        let out = ledgerflow(&db.url, &["backup", &file.display().to_string()]).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.store(true, Ordering::Relaxed);
        (before, out)
    };
    let ((), (before, out)) = tokio::join!(load, backup);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!before.is_empty());
    let total = answered.lock().expect("answered").len();
    assert!(total > before.len(), "the load went on during the backup");

    let out = ledgerflow(&restored, &["restore", &file.display().to_string()]).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = ledgerflow(&restored, &["verify"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let held = nonces(&restored).await;
    assert!(
        before.is_subset(&held),
        "every entry answered before the backup began"
    );
    assert!(held.len() <= total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_store_in_use_and_what_is_not_a_backup() {
    let db = Arc::new(TestDb::new(Backend::Sqlite).await);
    let app = TestApp::spawn_on(db.clone(), |_| {}).await;
    let r = app
        .post(json!({"operation": "CREDIT_ADD", "owner_id": "a", "nonce": "n", "amount": "1"}))
        .await;
    assert_eq!(r.status, 201);
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("backup.db");
    let file_arg = file.display().to_string();
    assert!(
        ledgerflow(&db.url, &["backup", &file_arg])
            .await
            .status
            .success()
    );

    let again = ledgerflow(&db.url, &["backup", &file_arg]).await;
    assert!(
        !again.status.success() && text(&again).contains("exists already"),
        "{}",
        text(&again)
    );
    let in_use = ledgerflow(&db.url, &["restore", &file_arg]).await;
    assert!(!in_use.status.success(), "{}", text(&in_use));
    assert!(
        text(&in_use).contains("in use; stop the service first"),
        "{}",
        text(&in_use)
    );
    assert_eq!(
        app.get("/v1/accounts/a").await.body["balance"],
        "1.00",
        "the live store is untouched"
    );

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").expect("a file");
    let elsewhere = format!("sqlite://{}", dir.path().join("new.db").display());
    let out = ledgerflow(&elsewhere, &["restore", &junk.display().to_string()]).await;
    assert!(
        text(&out).contains("not a ledgerflow event store"),
        "{}",
        text(&out)
    );
    assert!(!Path::new(&dir.path().join("new.db")).exists());
}
