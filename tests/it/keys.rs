//! API keys: several per app, rotation without downtime, revocation refused from the next
//! request on every instance.

use crate::common::{Backend, TestApp};
use ledgerflow::config::Config;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

on_both_backends!(rotate_then_revoke_the_old_key_then_all);

async fn status_with(app: &TestApp, key: &str) -> u16 {
    app.get_now(key, "/v1/operations").await.status.as_u16()
}

async fn rotate_then_revoke_the_old_key_then_all(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let apps = &app.ctx.apps;
    let name = app.name.clone();
    let config = Config::with_store(&app.db.url);
    let other = app.another_instance(&app.key, &config).await;

    let (new_row, new_key) = apps.rotate(&name).await.expect("rotate");
    assert_ne!(new_key, app.key);
    for instance in [&app, &other] {
        assert_eq!(
            status_with(instance, &app.key).await,
            200,
            "the old key still works"
        );
        assert_eq!(
            status_with(instance, &new_key).await,
            200,
            "the new key works"
        );
    }
    let r = other
        .post_with(
            &new_key,
            json!({"operation": "CREDIT_ADD", "owner_id": "k", "nonce": "k1",
                                    "amount": "1.00"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "both keys act for the same app");

    let keys = apps.keys(&name).await.expect("keys");
    assert_eq!(keys.len(), 2);
    let old = keys
        .iter()
        .find(|k| k.id != new_row.id)
        .expect("the old key");
    assert_eq!(apps.revoke(&name, Some(old.id)).await.expect("revoke"), 1);
    for instance in [&app, &other] {
        // At once, on both instances: keys are checked on every request.
        assert_eq!(status_with(instance, &app.key).await, 401);
        assert_eq!(status_with(instance, &new_key).await, 200);
    }
    assert!(
        apps.revoke(&name, Some(old.id)).await.is_err(),
        "already revoked"
    );

    assert_eq!(apps.revoke(&name, None).await.expect("revoke all"), 1);
    for instance in [&app, &other] {
        let r = instance.get_now(&new_key, "/v1/accounts/k").await;
        assert_eq!(r.status, 401);
        assert_eq!(r.body["code"], "unauthorized");
        // Writes too, sync (the key is remembered from its earlier use, and the write
        // batch checks it) and async; nothing is recorded and no nonce is taken.
        // And a request the workflow would refuse (unknown operation) says nothing either.
        for (nonce, operation, headers) in [
            ("k2", "CREDIT_ADD", &[][..]),
            ("k3", "CREDIT_ADD", &[("Prefer", "respond-async")][..]),
            ("k4", "NO_SUCH_OPERATION", &[][..]),
        ] {
            let r = instance
                .post_with(
                    &new_key,
                    json!({"operation": operation, "owner_id": "k", "nonce": nonce,
                           "amount": "1.00"}),
                    headers,
                )
                .await;
            assert_eq!(r.status, 401, "{nonce}: {:?}", r.body);
            assert_eq!(r.body["code"], "unauthorized");
        }
    }
    let recorded = entity::entry::Entity::find()
        .filter(entity::entry::Column::Nonce.is_in(["k1", "k2", "k3", "k4"]))
        .count(&app.store_sql)
        .await
        .expect("count entries");
    assert_eq!(recorded, 1, "only k1 was recorded");
}
