//! How a batch learns which of its nonces are taken already.
//!
//! - **By insert** (as a rule): the batch reads no nonce. Its decision takes each nonce as
//!   free, and the unique `(app_id, nonce)` index refuses a taken one when the batch
//!   inserts its entries. That attempt fails, and the batch runs again at once, probing
//!   ([`crate::workflow::transaction::run`]).
//! - **Probing** (a batch run again, and the batches after one that met a taken nonce): the
//!   batch reads who holds its nonces before it is decided, and a taken nonce is decided
//!   as a replay or as `nonce_reused`.
//!
//! One entry per nonce is the index's guarantee either way. What the probe costs: on a
//! database server a round trip and an index probe per entry, and, at SERIALIZABLE, a
//! predicate read. PostgreSQL's SSI locks the index page where an absent nonce would go,
//! so a writer beside the batch that inserts nonces there makes one of the two fail; the
//! insert checks uniqueness on a dirty snapshot and takes no such lock. On SQLite, a
//! statement whose `IN` list varies with the batch, parsed anew each time.
//!
//! A replayed request costs its batch a wasted attempt. So once a batch met a taken nonce,
//! the next [`PROBING_BATCHES`] batches probe, and a client replaying many requests costs
//! one wasted attempt, not one per batch.

use std::cell::Cell;

/// How many batches probe after one met a taken nonce.
pub const PROBING_BATCHES: u32 = 64;

/// A batch writer's way of claiming nonces (see the module docs).
#[derive(Debug, Default)]
pub struct Claims {
    /// Batches left that probe because an earlier one met a taken nonce.
    probing_left: Cell<u32>,
}

impl Claims {
    /// Whether the next batch reads its nonces first; each call is one batch.
    pub fn probe_next(&self) -> bool {
        let left = self.probing_left.get();
        self.probing_left.set(left.saturating_sub(1));
        left > 0
    }

    /// A batch's insert found one of its nonces taken.
    pub fn met_taken(&self) {
        self.probing_left.set(PROBING_BATCHES);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::Apps;
    use crate::ledger::command::{Command, Outcome};
    use crate::store::Store;
    use crate::workflow::test_command;
    use crate::workflow::transaction::run;
    use operations::Catalog;
    use sea_orm::{ConnectionTrait, Statement};
    use uuid::Uuid;

    #[test]
    fn batches_claim_by_insert_and_probe_for_a_while_after_a_taken_nonce() {
        let claims = Claims::default();
        assert!(!claims.probe_next());
        claims.met_taken();
        let probing = (0..PROBING_BATCHES).filter(|_| claims.probe_next()).count();
        assert_eq!(probing, PROBING_BATCHES as usize);
        assert!(!claims.probe_next(), "by insert again after them");
    }

    fn credit(app: Uuid, key: Uuid, owner: &str, nonce: &str, amount: &str) -> Command {
        test_command(app, key, "CREDIT_ADD", owner, nonce, amount)
    }

    /// Given a credit committed, a batch that claims its nonces by insert meets the taken
    /// one at its insert, runs again probing, and answers as a batch that probed would:
    /// the same request is a replay of the entry, another one `nonce_reused`, and the
    /// batch's other entry is recorded once.
    async fn a_taken_nonce_is_answered_as_a_probe_answers_it(url: &str) {
        let store = Store::connect(url).await.expect("a store");
        store.migrate().await.expect("migrated");
        let writer = store.writer_pool(true).await.expect("the writer's pool");
        let apps = Apps::new(store.clone(), Catalog::base());
        let (app, _) = apps.create("app").await.expect("an app");
        let key = apps.keys("app").await.expect("its keys")[0].id;
        let batch = async |commands: &[Command]| {
            let claims = Claims::default();
            let written = run(&writer, commands, None, None, None, &claims)
                .await
                .expect("the batch");
            (written.plan, claims.probe_next())
        };

        let (first, probing) = batch(&[credit(app.id, key, "amy", "n1", "10")]).await;
        assert_eq!(first.states(), ["completed"]);
        assert!(!probing, "no nonce was taken");
        let amy = first.recorded().next().expect("the credit").entry.id;

        let again = [
            credit(app.id, key, "amy", "n1", "10"),
            credit(app.id, key, "bob", "n2", "10"),
        ];
        let (second, probing) = batch(&again).await;
        assert_eq!(second.states(), ["replay", "completed"]);
        assert!(matches!(second.outcomes[0], Outcome::Replay(id) if id == amy));
        assert!(probing, "the next batches probe");

        let (third, _) = batch(&[credit(app.id, key, "amy", "n1", "11")]).await;
        assert!(matches!(third.outcomes[..], [Outcome::NonceReused(id)] if id == amy));

        for (table, rows) in [("entries", 2), ("postings", 4)] {
            let sql = format!("SELECT count(*) AS n FROM {table}");
            let count = Statement::from_string(store.backend(), sql);
            let row = store.conn().query_one_raw(count).await.expect("a count");
            let n: i64 = row.expect("a row").try_get("", "n").expect("n");
            assert_eq!(n, rows, "{table}: one entry per nonce");
        }
    }

    #[tokio::test]
    async fn a_taken_nonce_met_at_the_insert_is_answered_as_a_probe_answers_it_on_sqlite() {
        let dir = tempfile::tempdir().expect("a directory");
        let url = format!("sqlite://{}/ledger.db", dir.path().display());
        a_taken_nonce_is_answered_as_a_probe_answers_it(&url).await;
    }

    #[tokio::test]
    async fn a_taken_nonce_met_at_the_insert_is_answered_as_a_probe_answers_it_on_postgres() {
        let db = crate::store::TestDatabase::create("lf_claims").await;
        a_taken_nonce_is_answered_as_a_probe_answers_it(&db.url).await;
        db.drop().await;
    }
}
