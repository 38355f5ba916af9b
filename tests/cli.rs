//! The `ledgerflow` binary: app creation and catalog errors at start-up.

use std::process::Command;

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

#[test]
fn a_bad_catalog_file_stops_start_up_naming_file_operation_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(
        &file,
        "[operations.QUIZ_PRIZE]\ndirection = \"credit\"\ncounter_account = \"@system:quiz\"\nasset = \"CREDIT\"\namount = { fixed = \"1.005\" }\n",
    )
    .unwrap();
    let out = ledgerflow(&dir.path().join("ledger.db"))
        .env("LEDGERFLOW_OPERATIONS", &file)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.toml"), "{stderr}");
    assert!(stderr.contains("operation QUIZ_PRIZE"), "{stderr}");
    assert!(stderr.contains("field `amount.fixed`"), "{stderr}");
}
