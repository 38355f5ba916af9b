//! The postings of each account form a hash chain, and `verify` and the audit endpoint find
//! the first broken link when a stored posting is edited behind the ledger's back.

use crate::common::{Backend, TestApp, assert_ledger_consistent};
use entity::posting;
use ledgerflow::ledger::chain;
use ledgerflow::projection::verify::verify;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde_json::json;

on_both_backends!(
    postings_chain_from_genesis_and_responses_show_each_link,
    an_edited_posting_breaks_the_chain_at_that_version,
    a_rehashed_edit_breaks_the_next_link,
);

/// Five credits to `a` and a transfer to `b`.
async fn some_entries(app: &TestApp) {
    for i in 0..5 {
        let r = app
            .post(
                json!({"operation": "CREDIT_ADD", "owner_id": "a", "nonce": format!("c{i}"),
                         "amount": "10.00"}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let r = app
        .post(
            json!({"operation": "TRANSFER", "owner_id": "a", "counterparty_id": "b",
                     "nonce": "t", "amount": "5.00"}),
        )
        .await;
    assert_eq!(r.status, 201);
}

async fn postings_of(app: &TestApp, owner: &str) -> Vec<posting::Model> {
    posting::Entity::find()
        .filter(posting::Column::OwnerId.eq(owner))
        .order_by_asc(posting::Column::Version)
        .all(&app.store_sql)
        .await
        .expect("postings")
}

/// `GET /v1/accounts/{owner}/audit`: (intact, postings, head_hash, broken_at, differs).
async fn audited(app: &TestApp, owner: &str) -> (bool, u64, String, Option<i64>, Option<String>) {
    let r = app.get(&format!("/v1/accounts/{owner}/audit")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let b = &r.body;
    (
        b["intact"].as_bool().expect("intact"),
        b["postings"].as_u64().expect("postings"),
        b["head_hash"].as_str().expect("head_hash").to_owned(),
        b["broken_at"].as_i64(),
        b["differs"].as_str().map(str::to_owned),
    )
}

async fn broken_links(app: &TestApp) -> Vec<String> {
    let report = verify(&app.store, &app.read).await.expect("verify");
    report
        .differences
        .into_iter()
        .filter(|d| d.contains("hash chain"))
        .collect()
}

async fn postings_chain_from_genesis_and_responses_show_each_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    some_entries(&app).await;
    let chain_of_a = postings_of(&app, "a").await;
    assert_eq!(chain_of_a.len(), 6);
    assert_eq!(chain_of_a[0].prev_hash, chain::GENESIS);
    for pair in chain_of_a.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    for p in &chain_of_a {
        assert_eq!(p.hash, chain::hash(p));
    }
    let last = &chain_of_a[5];
    let entry = app.get(&format!("/v1/entries/{}", last.entry_id)).await;
    assert_eq!(entry.body["postings"][0]["hash"], last.hash.as_str());
    assert_ledger_consistent(&app).await;
    assert!(broken_links(&app).await.is_empty());
    // The audit endpoint walks the same chain, for one account.
    assert_eq!(
        audited(&app, "a").await,
        (true, 6, last.hash.clone(), None, None)
    );
    let (intact, postings, ..) = audited(&app, "b").await;
    assert_eq!((intact, postings), (true, 1));
    let (intact, postings, ..) = audited(&app, "@system:purchases").await;
    assert_eq!(
        (intact, postings),
        (true, 5),
        "a system account is audited too"
    );
    let (intact, postings, head, ..) = audited(&app, "nobody").await;
    assert_eq!((intact, postings, head.as_str()), (true, 0, chain::GENESIS));
}

async fn an_edited_posting_breaks_the_chain_at_that_version(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    some_entries(&app).await;
    // Backdate the third posting of `a`: balances still replay, only the chain can tell.
    let third = postings_of(&app, "a").await.remove(2);
    let mut edit = third.clone().into_active_model();
    edit.recorded_at = Set(third.recorded_at - 3_600_000_000);
    edit.update(&app.store_sql).await.expect("edit");

    let broken = broken_links(&app).await;
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert!(broken[0].contains("account \"a\""), "{}", broken[0]);
    assert!(
        broken[0].contains("broken at v3: its hash does not match its content"),
        "{}",
        broken[0]
    );
    let (intact, postings, _, at, differs) = audited(&app, "a").await;
    assert_eq!((intact, postings, at), (false, 6, Some(3)));
    assert_eq!(
        differs.as_deref(),
        Some("its hash does not match its content")
    );
    assert!(
        audited(&app, "b").await.0,
        "another account's chain is intact"
    );
}

async fn a_rehashed_edit_breaks_the_next_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    some_entries(&app).await;
    // A forger who also rewrites the edited posting's hash still breaks the link after it.
    let mut second = postings_of(&app, "a").await.remove(1);
    second.entry_id = uuid::Uuid::new_v4();
    second.hash = chain::hash(&second);
    let mut edit = second.clone().into_active_model();
    edit.entry_id = Set(second.entry_id);
    edit.hash = Set(second.hash.clone());
    edit.update(&app.store_sql).await.expect("edit");

    let broken = broken_links(&app).await;
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert!(
        broken[0].contains("broken at v3: its hash does not link to the previous posting"),
        "{}",
        broken[0]
    );
    let (intact, _, _, at, differs) = audited(&app, "a").await;
    assert_eq!((intact, at), (false, Some(3)));
    assert_eq!(
        differs.as_deref(),
        Some("its hash does not link to the previous posting")
    );
}
