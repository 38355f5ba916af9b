//! Account histories beyond an owner's own entries (those are `entries.rs`'s): a system
//! account's, from the postings to its account, an owner's narrowed to one asset, and the
//! two kinds of cursor.

use crate::common::{Backend, TestApp};
use entity::read::posting as rm_posting;
use ledgerflow::ledger::command::account_id;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use std::collections::HashSet;

on_both_backends!(
    a_system_account_lists_the_entries_that_posted_to_it_newest_first,
    an_entry_posting_twice_to_a_system_account_is_listed_once_across_pages,
    a_cursor_of_the_other_kind_of_history_is_invalid_cursor,
    asset_narrows_an_owners_history_and_picks_a_system_accounts_account,
);

const REWARDS: &str = "@system:rewards";

/// A DAILY_REWARD (once per owner per day, so each to an owner of its own) to each of
/// `owners`, in order; their entry ids.
async fn rewards(app: &TestApp, owners: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for owner in owners {
        let r = app
            .post(json!({"operation": "DAILY_REWARD", "owner_id": owner, "nonce": format!("r-{owner}")}))
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        ids.push(r.body["id"].as_str().expect("an id").to_owned());
    }
    ids
}

fn ids_of(page: &Value) -> Vec<String> {
    let entries = page["entries"].as_array().expect("entries");
    entries
        .iter()
        .map(|e| e["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// Every page of `path`'s history with `limit`: the entry ids in order, and the cursors.
async fn walk(app: &TestApp, path: &str, limit: u64) -> (Vec<String>, Vec<String>) {
    let (mut ids, mut cursors) = (Vec::new(), Vec::new());
    loop {
        let page = match cursors.last() {
            Some(c) => format!("{path}?limit={limit}&cursor={c}"),
            None => format!("{path}?limit={limit}"),
        };
        let r = app.get(&page).await;
        assert_eq!(r.status, 200, "{page}: {:?}", r.body);
        let found = ids_of(&r.body);
        assert!(found.len() as u64 <= limit);
        ids.extend(found);
        match r.body["next_cursor"].as_str() {
            Some(c) => cursors.push(c.to_owned()),
            None => return (ids, cursors),
        }
    }
}

async fn a_system_account_lists_the_entries_that_posted_to_it_newest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut rewarded = rewards(&app, &["r0", "r1", "r2", "r3", "r4"]).await;
    let signup = json!({"operation": "SIGNUP_CREDIT", "owner_id": "r0", "nonce": "s"});
    assert_eq!(app.post(signup).await.status, 201);
    let spend = json!({"operation": "CREDIT_SPEND", "owner_id": "r0", "nonce": "x", "amount": "3"});
    let spent = app.post(spend).await;
    assert_eq!(spent.status, 201, "{:?}", spent.body);
    rewarded.reverse();

    let path = format!("/v1/accounts/{REWARDS}/entries");
    let all = app.get(&path).await;
    assert_eq!(all.status, 200, "{:?}", all.body);
    assert_eq!(
        ids_of(&all.body),
        rewarded,
        "exactly the rewards, newest first"
    );
    assert!(all.body.get("next_cursor").is_none());
    let mut versions = Vec::new();
    for entry in all.body["entries"].as_array().expect("entries") {
        assert_eq!(entry["operation"], "DAILY_REWARD");
        let postings = entry["postings"].as_array().expect("postings");
        let ours: Vec<&Value> = postings
            .iter()
            .filter(|p| p["owner_id"] == REWARDS)
            .collect();
        assert_eq!(ours.len(), 1, "{entry}");
        assert_eq!(ours[0]["amount"], "-10.00");
        versions.push(ours[0]["version"].as_i64().expect("a version"));
    }
    assert_eq!(versions, [5, 4, 3, 2, 1]);

    let (paged, cursors) = walk(&app, &path, 2).await;
    assert_eq!(paged, rewarded, "pages of 2: each entry once, none missing");
    assert_eq!(cursors.len(), 2);
    assert!(cursors.iter().all(|c| c.starts_with('v')), "{cursors:?}");

    let spends = app.get("/v1/accounts/@system:spend/entries").await;
    let spent_id = spent.body["id"].as_str().expect("an id");
    assert_eq!(ids_of(&spends.body), [spent_id]);
    let balance = app.get(&format!("/v1/accounts/{REWARDS}")).await;
    assert_eq!(balance.body["balance"], "-50.00");
    let other = app.another_key().await;
    let theirs = app.get_with(&other, &path).await;
    assert_eq!(
        theirs.body["entries"],
        json!([]),
        "another app's is its own"
    );
}

/// No operation posts twice to one account today; a second posting of an entry is written
/// by hand, above the account's others, to show the rule: an entry is
/// listed once, where its newest posting is, and a later page leaves it out.
async fn an_entry_posting_twice_to_a_system_account_is_listed_once_across_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rewarded = rewards(&app, &["t0", "t1", "t2", "t3", "t4"]).await;
    app.projected().await;
    let app_id = app.ctx.apps.identify(&app.key).await.expect("apps");
    let app_id = app_id.expect("the app").app.id;
    let account = account_id(app_id, REWARDS, "CREDIT");
    let second = rm_posting::Entity::find()
        .filter(rm_posting::Column::AccountId.eq(account))
        .filter(rm_posting::Column::Version.eq(2))
        .one(&app.read_sql)
        .await
        .expect("the read model")
        .expect("version 2");
    assert_eq!(second.entry_id.to_string(), rewarded[1]);
    let again = rm_posting::Model {
        version: 6,
        ..second
    };
    // Into the event store's table: the read model in its database is a view of it.
    entity::posting::ActiveModel::from(entity::posting::Model::from(again))
        .insert(&app.store_sql)
        .await
        .expect("a second posting of t1's reward");

    let path = format!("/v1/accounts/{REWARDS}/entries");
    let expected = [4, 3, 2, 0].map(|i| rewarded[i].clone());
    let expected: Vec<String> = [rewarded[1].clone()].into_iter().chain(expected).collect();
    assert_eq!(ids_of(&app.get(&path).await.body), expected);
    for limit in [1, 2, 3, 4] {
        // With 2, the third page starts at t1's older posting (version 2).
        let (paged, cursors) = walk(&app, &path, limit).await;
        assert_eq!(paged, expected, "pages of {limit}, cursors {cursors:?}");
    }
    let rows = rm_posting::Entity::find()
        .filter(rm_posting::Column::AccountId.eq(account))
        .order_by_desc(rm_posting::Column::Version)
        .all(&app.read_sql)
        .await
        .expect("the read model");
    let distinct: HashSet<_> = rows.iter().map(|p| p.entry_id).collect();
    assert_eq!((rows.len(), distinct.len()), (6, 5));
}

/// The `next_cursor` of the first page of `path`.
async fn cursor_of(app: &TestApp, path: &str) -> String {
    let r = app.get(path).await;
    let cursor = r.body["next_cursor"].as_str();
    cursor
        .unwrap_or_else(|| panic!("{path}: {:?}", r.body))
        .to_owned()
}

async fn a_cursor_of_the_other_kind_of_history_is_invalid_cursor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    rewards(&app, &["c0", "c1", "c2"]).await;
    let add = json!({"operation": "CREDIT_ADD", "owner_id": "c0", "nonce": "a", "amount": "1"});
    assert_eq!(app.post(add).await.status, 201);
    let owner = cursor_of(&app, "/v1/accounts/c0/entries?limit=1").await;
    let system = cursor_of(&app, &format!("/v1/accounts/{REWARDS}/entries?limit=1")).await;
    assert!(system.starts_with('v') && !owner.starts_with('v'));
    let cases = [
        format!("/v1/accounts/{REWARDS}/entries?cursor={owner}"),
        format!("/v1/accounts/c0/entries?cursor={system}"),
        "/v1/accounts/c0/entries?cursor=v1".to_owned(),
        format!("/v1/accounts/{REWARDS}/entries?cursor=v0"),
    ];
    for path in cases {
        let r = app.get(&path).await;
        assert_eq!(
            (r.status.as_u16(), r.body["code"].as_str()),
            (400, Some("invalid_cursor")),
            "{path}"
        );
    }
    let rest = app
        .get(&format!("/v1/accounts/{REWARDS}/entries?cursor={system}"))
        .await;
    assert_eq!(ids_of(&rest.body).len(), 2, "{:?}", rest.body);
    let rest = app
        .get(&format!("/v1/accounts/c0/entries?cursor={owner}"))
        .await;
    assert_eq!(ids_of(&rest.body).len(), 1, "{:?}", rest.body);
}

async fn posted(app: &TestApp, body: Value) -> String {
    let r = app.post(body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().expect("an id").to_owned()
}

/// The entry ids of the first page of `path`.
async fn listed(app: &TestApp, path: String) -> Vec<String> {
    let r = app.get(&path).await;
    assert_eq!(r.status, 200, "{path}: {:?}", r.body);
    ids_of(&r.body)
}

const GEMS: &str = r#"
[assets.GEM]
scale = 0

[operations.GEM_GRANT]
direction = "credit"
counter_account = "@system:gems"
asset = "GEM"
amount = { min = "1", max = "1000" }
"#;

async fn asset_narrows_an_owners_history_and_picks_a_system_accounts_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.ctx
        .apps
        .set_operations(&app.name, "gems.toml", GEMS)
        .await
        .expect("the extension loads");
    let credit = posted(
        &app,
        json!({"operation": "CREDIT_ADD", "owner_id": "g", "nonce": "c", "amount": "5"}),
    )
    .await;
    let gem = posted(
        &app,
        json!({"operation": "GEM_GRANT", "owner_id": "g", "nonce": "g", "amount": "7"}),
    )
    .await;
    let history = |path: String| listed(&app, path);
    let owner = "/v1/accounts/g/entries";
    assert_eq!(
        history(owner.to_owned()).await,
        [gem.as_str(), credit.as_str()]
    );
    assert_eq!(history(format!("{owner}?asset=GEM")).await, [gem.as_str()]);
    assert_eq!(
        history(format!("{owner}?asset=CREDIT")).await,
        [credit.as_str()]
    );
    let gems = "/v1/accounts/@system:gems/entries";
    assert_eq!(history(format!("{gems}?asset=GEM")).await, [gem.as_str()]);
    assert!(
        history(gems.to_owned()).await.is_empty(),
        "its CREDIT account"
    );
    let waited = format!("{gems}?asset=GEM&min_version=1");
    assert_eq!(history(waited).await, [gem.as_str()]);
    for path in [
        format!("{owner}?asset=NOPE"),
        format!("{gems}?asset=NOPE"),
        format!("{owner}?asset=credit"),
    ] {
        let r = app.get(&path).await;
        assert_eq!(
            (r.status.as_u16(), r.body["code"].as_str()),
            (422, Some("unknown_asset")),
            "{path}"
        );
    }
}
