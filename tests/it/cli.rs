//! The `ledgerflow` binary: app creation, catalog errors at start-up, verify and rebuild.

use crate::common::{Backend, TestApp, TestDb};
use sea_orm::ConnectionTrait;
use std::process::Command;
use std::sync::Arc;

fn ledgerflow(db: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ledgerflow"));
    cmd.env(
        "LEDGERFLOW_EVENT_STORE_URL",
        format!("sqlite://{}", db.display()),
    )
    .env_remove("LEDGERFLOW_OPERATIONS");
    cmd
}

#[test]
fn apps_create_prints_the_key_alone_on_the_last_line_and_stores_only_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let out = ledgerflow(&db)
        .args(["apps", "create", "shop"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout.lines().last().unwrap();
    assert!(key.starts_with("lf_") && key.len() == 67, "{stdout}");
    // The database file and its write-ahead log hold every byte SQLite stored.
    let mut raw = std::fs::read(&db).unwrap();
    raw.extend(std::fs::read(dir.path().join("ledger.db-wal")).unwrap_or_default());
    let contains = |needle: &[u8]| raw.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(key.as_bytes()), "the key itself is not stored");
    assert!(
        contains(ledgerflow::apps::hash_key(key).as_bytes()),
        "its hash is"
    );

    let again = ledgerflow(&db)
        .args(["apps", "create", "shop"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
}

/// `ledgerflow migrate` with `text` as the catalog extension `broken.toml`: it must fail;
/// its stderr.
fn refused_catalog(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, text).unwrap();
    let out = ledgerflow(&dir.path().join("ledger.db"))
        .env("LEDGERFLOW_OPERATIONS", &file)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_bad_catalog_file_stops_start_up_naming_file_operation_and_field() {
    let op = "[operations.QUIZ_PRIZE]\ndirection = \"credit\"\ncounter_account = \"@system:quiz\"\nasset = \"CREDIT\"\n";
    let stderr = refused_catalog(&format!("{op}amount = {{ fixed = \"1.005\" }}\n"));
    assert!(stderr.contains("broken.toml"), "{stderr}");
    assert!(stderr.contains("operation QUIZ_PRIZE"), "{stderr}");
    assert!(stderr.contains("field `amount.fixed`"), "{stderr}");
    // A bad lot declaration is refused the same way.
    let lot = "lot = { category = \"promotional\", expires_after = \"P1M\" }\n";
    let stderr = refused_catalog(&format!("{op}amount = {{ fixed = \"1\" }}\n{lot}"));
    assert!(stderr.contains("broken.toml"), "{stderr}");
    assert!(stderr.contains("operation QUIZ_PRIZE"), "{stderr}");
    assert!(stderr.contains("field `lot.expires_after`"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_exits_non_zero_on_a_difference_and_rebuild_repairs_it() {
    // A read model of its own: in the event store's database, every row it shows is the
    // event store's, and there is nothing of its own to damage.
    let db = Arc::new(TestDb::new(Backend::Sqlite).await);
    let read_db = TestDb::new(Backend::Sqlite).await;
    let app = TestApp::spawn_on(db.clone(), |c| c.read_model_url = Some(read_db.url.clone())).await;
    assert!(!app.read.shares_store());
    for i in 0..10 {
        let r = app
            .post(
                serde_json::json!({"operation": "CREDIT_ADD", "owner_id": "v",
                                     "nonce": format!("v{i}"), "amount": "1.00"}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    app.projected().await;
    let file = db.url.trim_start_matches("sqlite://").to_owned();
    let run = |command: &str| {
        let out = ledgerflow(std::path::Path::new(&file))
            .env("LEDGERFLOW_READ_MODEL_URL", &read_db.url)
            .arg(command)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };

    let (ok, text) = run("verify");
    assert!(ok, "{text}");
    assert!(
        text.contains("verified: 2 accounts, 20 postings, 10 entries"),
        "{text}"
    );

    app.read_sql
        .execute_unprepared("UPDATE rm_entries SET state = 'failed' WHERE nonce = 'v3'")
        .await
        .unwrap();
    let (ok, text) = run("verify");
    assert!(!ok, "{text}");
    assert!(
        text.contains("failed entries: 0 in the event store, 1 in the read model"),
        "{text}"
    );
    assert!(text.contains("differ"), "{text}");

    let (ok, text) = run("rebuild");
    assert!(ok, "{text}");
    assert!(
        text.contains("rebuilt the read model: 10 entries, 20 postings"),
        "{text}"
    );
    let (ok, text) = run("verify");
    assert!(ok, "{text}");
}

#[test]
fn apps_rotate_keys_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let run = |args: &[&str]| {
        let out = ledgerflow(&db).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["apps", "create", "shop"]);
    let rotated = run(&["apps", "rotate", "shop"]);
    assert!(
        rotated.lines().last().unwrap().starts_with("lf_"),
        "{rotated}"
    );
    let keys = run(&["apps", "keys", "shop"]);
    assert_eq!(
        keys.lines().filter(|l| l.ends_with("active")).count(),
        2,
        "{keys}"
    );
    let first = keys
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let revoked = run(&["apps", "revoke", "shop", "--key", first]);
    assert!(revoked.contains("revoked 1 key(s)"), "{revoked}");
    let keys = run(&["apps", "keys", "shop"]);
    assert!(
        keys.lines().next().unwrap().contains("revoked 20"),
        "{keys}"
    );
    assert!(keys.lines().nth(1).unwrap().ends_with("active"), "{keys}");
}

#[test]
fn apps_limits_sets_shows_and_resets_an_apps_rate() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let run = |args: &[&str]| {
        let out = ledgerflow(&db).args(args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (
            out.status.success(),
            text + &String::from_utf8_lossy(&out.stderr),
        )
    };
    assert!(run(&["apps", "create", "shop"]).0);
    let shown = |args: &[&str]| {
        let (ok, text) = run(args);
        assert!(ok, "{args:?}: {text}");
        text.trim().to_owned()
    };
    let limits = ["apps", "limits", "shop"];
    assert_eq!(shown(&limits), "app shop: the service's default rate limit");
    let set = [&limits[..], &["--rps", "5", "--burst", "10"]].concat();
    assert_eq!(shown(&set), "app shop: 5 requests/s, burst 10");
    assert_eq!(shown(&limits), "app shop: 5 requests/s, burst 10");
    let one_seconds_worth = [&limits[..], &["--rps", "7"]].concat();
    assert_eq!(shown(&one_seconds_worth), "app shop: 7 requests/s, burst 7");
    let unlimited = [&limits[..], &["--rps", "0"]].concat();
    assert_eq!(shown(&unlimited), "app shop: no rate limit");
    let reset = [&limits[..], &["--default"]].concat();
    assert_eq!(shown(&reset), "app shop: the service's default rate limit");
    for refused in [
        &["--burst", "3"][..],
        &["--rps", "-1"],
        &["--rps", "5", "--default"],
    ] {
        let (ok, text) = run(&[&limits[..], refused].concat());
        assert!(!ok, "{refused:?} is refused: {text}");
    }
    assert!(!run(&["apps", "limits", "nobody", "--rps", "1"]).0);
}

/// A read model that only trails the event store (an instance stopped with messages in its
/// outbox) is "behind", exit 2, not a difference; `--wait` waits for it to catch up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_tells_a_read_model_behind_from_a_different_one() {
    let db = Arc::new(TestDb::new(Backend::Sqlite).await);
    // Only a read model of its own can trail the event store. Without a projector every
    // write stays in the outbox, unprojected.
    let read = TestDb::new(Backend::Sqlite).await;
    let app = TestApp::spawn_on(db.clone(), |c| {
        c.projector = false;
        c.read_model_url = Some(read.url.clone());
    })
    .await;
    for i in 0..5 {
        let body = serde_json::json!({"operation": "CREDIT_ADD", "owner_id": "b",
                                      "nonce": format!("b{i}"), "amount": "1.00"});
        assert_eq!(app.post(body).await.status, 201);
    }
    let file = db.url.trim_start_matches("sqlite://").to_owned();
    let verify = |args: &[&str]| {
        let out = ledgerflow(std::path::Path::new(&file))
            .env("LEDGERFLOW_READ_MODEL_URL", &read.url)
            .arg("verify")
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    };

    let (code, text) = verify(&[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("behind the event store by 5 entries (2 accounts)"),
        "{text}"
    );
    // Nothing relays the outbox: waiting does not make it catch up.
    let (code, text) = verify(&["--wait", "1"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("did not catch up"), "{text}");

    // A projecting instance moves the outbox; then verify waits for it and passes.
    let mut config = ledgerflow::config::Config::with_store(&db.url);
    config.read_model_url = Some(read.url.clone());
    let _projector = app.another_instance(&app.key, &config).await;
    let (code, text) = verify(&["--wait", "30"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("verified: 2 accounts, 10 postings, 5 entries"),
        "{text}"
    );

    // A difference is a difference, exit 1.
    app.read_sql
        .execute_unprepared("UPDATE rm_accounts SET balance = '7.00' WHERE owner_id = 'b'")
        .await
        .unwrap();
    let (code, text) = verify(&[]);
    assert_eq!(code, Some(1), "{text}");
}
