//! The event store checked against itself: every account's postings replayed in version
//! order (versions without a gap, each `balance_after` the running sum, the hash chain), and
//! each head against its replay.

use super::{Accounts, Report};
use crate::decimal::stored_decimal;
use crate::ledger::chain;
use crate::store::postings_after;
use rust_decimal::Decimal;
use sea_orm::{DatabaseTransaction, DbErr};
use std::collections::HashMap;
use uuid::Uuid;

/// Postings read per query.
const PAGE: u64 = 5_000;

/// An account as its postings replay: balance, version, the last hash, and whether its
/// chain broke (only the first broken link is reported).
#[derive(Debug, Default, PartialEq)]
pub(super) struct Replayed {
    balance: Decimal,
    version: i64,
    hash: String,
    broken: bool,
    /// The balance at the version the read model has, if it has the account.
    pub(super) at_projected: Option<Decimal>,
}

/// Walks every posting in (account, version) order, checking versions, balances and the
/// hash chain; returns each account as replayed.
pub(super) async fn replay_postings(
    db: &DatabaseTransaction,
    projected: &Accounts,
    report: &mut Report,
) -> Result<HashMap<Uuid, Replayed>, DbErr> {
    let mut replayed: HashMap<Uuid, Replayed> = HashMap::new();
    let mut after: Option<(Uuid, i64)> = None;
    loop {
        let page = postings_after(db, after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(replayed);
        };
        after = Some((last.account_id, last.version));
        for p in page {
            report.postings += 1;
            let r = replayed.entry(p.account_id).or_insert_with(|| Replayed {
                hash: chain::GENESIS.to_owned(),
                ..Replayed::default()
            });
            if let Some(why) = chain::broken_link(&r.hash, &p).filter(|_| !r.broken) {
                r.broken = true;
                report.differ(format!(
                    "event store: hash chain of account {:?} ({}) broken at v{}: its hash {why}",
                    p.owner_id, p.account_id, p.version
                ));
            }
            r.hash = p.hash.clone();
            let (balance, version) = (&mut r.balance, &mut r.version);
            if p.version != *version + 1 {
                report.differ(format!(
                    "event store: account {} jumps from v{} to v{}",
                    p.owner_id, version, p.version
                ));
            }
            let (Ok(amount), Ok(after)) =
                (stored_decimal(&p.amount), stored_decimal(&p.balance_after))
            else {
                report.differ(format!(
                    "event store: posting {} v{} is not decimal",
                    p.owner_id, p.version
                ));
                continue;
            };
            if *balance + amount != after {
                report.differ(format!(
                    "event store: account {} v{}: {} + {} is not balance_after {}",
                    p.owner_id, p.version, balance, amount, after
                ));
            }
            *balance = after;
            *version = p.version;
            if projected.get(&p.account_id).map(|a| a.version) == Some(p.version) {
                r.at_projected = Some(after);
            }
        }
    }
}

/// Each head of the event store is its postings replayed.
pub(super) fn check_heads(
    heads: &Accounts,
    replayed: &HashMap<Uuid, Replayed>,
    report: &mut Report,
) {
    for (id, head) in heads {
        match replayed.get(id) {
            Some(r) if r.balance == head.balance && r.version == head.version => {
                if r.hash != head.hash {
                    report.differ(format!(
                        "event store: {head} does not hold its last posting's hash"
                    ));
                }
            }
            Some(r) => report.differ(format!(
                "event store: {head} but its postings replay to v{} with {}",
                r.version, r.balance
            )),
            None => report.differ(format!("event store: {head} but it has no postings")),
        }
    }
}
