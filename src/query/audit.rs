//! An account's hash chain re-computed from the event store (`GET …/audit`).

use super::{Queries, QueryError};
use crate::ledger::chain::Walk;
use crate::ledger::command::{OwnerId, account_id};
use uuid::Uuid;

/// Postings read per query.
const PAGE: u64 = 1_000;

impl Queries {
    /// Walks the chain of account `(app, owner, asset)` from its first posting to its last,
    /// as the event store holds them now.
    pub async fn audit(
        &self,
        app_id: Uuid,
        owner: &OwnerId,
        asset: &str,
    ) -> Result<Walk, QueryError> {
        let account = account_id(app_id, owner.as_str(), asset);
        let mut walk = Walk::default();
        let mut after = 0;
        loop {
            let page = self.store.account_postings(account, after, PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(walk);
            };
            after = last.version;
            page.iter().for_each(|p| walk.step(p));
        }
    }
}
