//! Group commit decides exactly what one-at-a-time processing decides.

use crate::common::{Backend, TestApp, assert_ledger_consistent};
use futures::stream::{self, StreamExt};
use serde_json::{Value, json};

on_both_backends!(concurrent_batches_end_where_one_at_a_time_ends);

/// 1,000 requests over 10 owners: 900 distinct entries (credits, spends, transfers that can
/// all complete in any order) and 100 repeats of earlier nonces.
fn workload() -> (Vec<Value>, Vec<Value>) {
    let owners = 10;
    let mut funding = Vec::new();
    for o in 0..owners {
        funding.push(json!({"operation": "CREDIT_ADD", "owner_id": format!("o{o}"), "nonce": format!("fund-{o}"), "amount": "1000"}));
    }
    let mut requests: Vec<Value> = (0..900)
        .map(|i| {
            let owner = format!("o{}", i % owners);
            match i % 3 {
                0 => json!({"operation": "CREDIT_ADD", "owner_id": owner, "nonce": format!("n{i}"), "amount": format!("{}.25", i % 7 + 1)}),
                1 => json!({"operation": "CREDIT_SPEND", "owner_id": owner, "nonce": format!("n{i}"), "amount": "1.10"}),
                _ => json!({"operation": "TRANSFER", "owner_id": owner, "counterparty_id": format!("o{}", (i + 3) % owners), "nonce": format!("n{i}"), "amount": "2"}),
            }
        })
        .collect();
    for k in 0..100 {
        let repeat = requests[(k * 37) % 900].clone();
        requests.insert((k * 53) % requests.len(), repeat);
    }
    (funding, requests)
}

async fn concurrent_batches_end_where_one_at_a_time_ends(backend: Backend) {
    let (funding, requests) = workload();

    let batched = TestApp::spawn(backend).await;
    for f in &funding {
        assert_eq!(batched.post(f.clone()).await.status, 201);
    }
    let replies: Vec<_> = stream::iter(requests.iter().cloned())
        .map(|r| batched.post(r))
        .buffer_unordered(128)
        .collect()
        .await;
    assert!(
        replies.iter().all(|r| r.status == 201),
        "every entry completes"
    );
    assert_eq!(replies.iter().filter(|r| r.replay).count(), 100);
    let originals: std::collections::HashSet<_> = replies
        .iter()
        .filter(|r| !r.replay)
        .map(|r| r.body["nonce"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(originals.len(), 900, "each nonce recorded once");

    let single = TestApp::spawn_on(
        std::sync::Arc::new(crate::common::TestDb::new(backend).await),
        |c| c.batch_max = 1,
    )
    .await;
    for r in funding.iter().chain(&requests) {
        assert_eq!(single.post(r.clone()).await.status, 201);
    }

    let batched_heads = assert_ledger_consistent(&batched).await;
    let single_heads = assert_ledger_consistent(&single).await;
    assert_eq!(
        batched_heads.len(),
        10 + 2,
        "ten owners and two system accounts"
    );
    assert_eq!(batched_heads, single_heads);
}
