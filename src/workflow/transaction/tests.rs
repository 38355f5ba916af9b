//! Deciding ahead on SQLite: a batch read in the transaction before its own is decided as
//! it would be in its own, and decided again when another connection committed between or
//! when its insert met a nonce taken.

use super::*;
use crate::apps::Apps;
use crate::ledger::command::Outcome;
use crate::workflow::test_command;
use operations::Catalog;
use uuid::Uuid;

fn command(app: Uuid, key: Uuid, operation: &str, owner: &str, nonce: &str) -> Command {
    test_command(app, key, operation, owner, nonce, "10")
}

/// A migrated SQLite store, the batch writer's pool of it, and an app with its key.
async fn given() -> (tempfile::TempDir, Store, Store, Apps, Uuid, Uuid) {
    let dir = tempfile::tempdir().expect("a directory");
    let url = format!("sqlite://{}/ledger.db", dir.path().display());
    let store = Store::connect(&url).await.expect("a store");
    store.migrate().await.expect("migrated");
    let writer = store.writer_pool(true).await.expect("the writer's pool");
    let apps = Apps::new(store.clone(), Catalog::base());
    let (app, _) = apps.create("app").await.expect("an app");
    let key = apps.keys("app").await.expect("its keys")[0].id;
    (dir, store, writer, apps, app.id, key)
}

/// Claims whose batches probe their nonces, so that what is read ahead includes who holds
/// them.
fn probing() -> Claims {
    let claims = Claims::default();
    claims.met_taken();
    claims
}

/// Runs `first` with `second` queued behind it, then `second` with what was decided ahead,
/// calling `between` in between.
async fn two_batches(
    writer: &Store,
    first: &[Command],
    second: Vec<Command>,
    between: impl AsyncFnOnce(),
    claims: &Claims,
) -> (Written, Written) {
    let mut queued = Some(second);
    let mut take = || queued.take().unwrap_or_default();
    let mut next = Next::new(&mut take);
    let one = run(writer, first, None, None, Some(&mut next), claims)
        .await
        .expect("the first batch");
    let second = next.into_taken();
    assert!(one.ahead.is_some(), "the second batch is decided ahead");
    between().await;
    let mut ahead = one.ahead;
    let two = run(writer, &second, None, ahead.take(), None, claims)
        .await
        .expect("the second batch");
    (Written { ahead: None, ..one }, two)
}

#[tokio::test]
async fn a_batch_decided_ahead_sees_the_rows_of_the_batch_before_it() {
    let (_dir, _store, writer, _apps, app, key) = given().await;
    let credit = command(app, key, "CREDIT_ADD", "amy", "n1");
    let second = vec![
        command(app, key, "CREDIT_SPEND", "amy", "n2"),
        credit.clone(),
        command(app, key, "CREDIT_SPEND", "bob", "n3"),
    ];
    let (one, two) = two_batches(&writer, &[credit], second, async || {}, &probing()).await;
    assert_eq!(one.plan.states(), ["completed"]);
    assert_eq!(two.as_ahead, Some(true), "written as decided ahead");
    // The spend draws on the credit of the batch before; its nonce is taken by it; and
    // bob, who has nothing, is refused.
    assert_eq!(
        two.plan.states(),
        ["completed", "replay", "insufficient_balance"]
    );
    let credited = one.plan.recorded().next().expect("the credit").entry.id;
    assert!(matches!(two.plan.outcomes[1], Outcome::Replay(id) if id == credited));
    let amy = two.plan.heads.iter().find(|h| h.owner_id == "amy");
    assert_eq!(
        amy.map(|h| (h.version, h.balance.as_str())),
        Some((2, "0.00"))
    );
}

#[tokio::test]
async fn a_batch_decided_ahead_is_decided_again_after_another_connection_committed() {
    let (_dir, _store, writer, apps, app, key) = given().await;
    let first = [command(app, key, "CREDIT_ADD", "amy", "n1")];
    let second = vec![command(app, key, "CREDIT_ADD", "amy", "n2")];
    // The key is revoked through the store's own pool: another connection.
    let revoke = async || {
        apps.revoke("app", Some(key)).await.expect("revoked");
    };
    let (_, two) = two_batches(&writer, &first, second, revoke, &probing()).await;
    assert_eq!(two.as_ahead, Some(false), "decided again");
    assert_eq!(two.plan.states(), ["key_revoked"]);
}

/// By insert, a batch decided ahead takes the nonce of the batch before it as free: its
/// insert meets it taken, and the batch runs again in its own transaction, probing, with
/// the answers a probe gives.
#[tokio::test]
async fn a_batch_decided_ahead_that_met_a_taken_nonce_is_decided_again_probing() {
    let (_dir, _store, writer, _apps, app, key) = given().await;
    let credit = command(app, key, "CREDIT_ADD", "amy", "n1");
    let second = vec![
        command(app, key, "CREDIT_SPEND", "amy", "n2"),
        credit.clone(),
    ];
    let claims = Claims::default();
    let (one, two) = two_batches(&writer, &[credit], second, async || {}, &claims).await;
    assert_eq!(two.as_ahead, Some(false), "decided again");
    assert_eq!(two.plan.states(), ["completed", "replay"]);
    let credited = one.plan.recorded().next().expect("the credit").entry.id;
    assert!(matches!(two.plan.outcomes[1], Outcome::Replay(id) if id == credited));
    assert!(claims.probe_next(), "the batches after it probe");
}
