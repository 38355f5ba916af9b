use super::*;
use crate::ledger::EntryRequest;
use operations::Catalog;

#[test]
fn a_batchs_log_lines_name_the_batch() {
    let dir = tempfile::tempdir().expect("a directory");
    let url = format!("sqlite://{}/ledger.db", dir.path().display());
    let text = crate::test_log::capture(tracing::Level::DEBUG, async move {
        let store = Store::connect(&url).await.expect("a store");
        store.migrate().await.expect("migrated");
        let metrics = Arc::new(Metrics::default());
        let queue = start(&store, BatchConfig::default(), None, metrics)
            .await
            .expect("the processor");
        let request = EntryRequest {
            operation: "CREDIT_ADD".into(),
            owner_id: "amy".into(),
            amount: Some("5".into()),
            ..EntryRequest::default()
        };
        // The writer logs a batch's end after answering it, on its own thread: the
        // second batch starts only once the first one's lines are written.
        for nonce in ["n1", "n2"] {
            let request = EntryRequest {
                nonce: nonce.into(),
                ..request.clone()
            };
            let now = crate::time::now_micros();
            let cmd = request
                .validate(Uuid::nil(), &Catalog::base(), now, false)
                .expect("a valid request");
            let settled = submit(&queue, cmd).await.expect("settled");
            assert!(matches!(settled, Settled::Recorded(_)), "{settled:?}");
        }
    });
    assert!(
        text.lines().any(|l| l.contains("batch{id=")
            && l.contains(" size=1}: ")
            && l.contains("batch settled")),
        "{text}"
    );
}
