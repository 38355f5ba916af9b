//! `ledgerflow verify`: checks the event store against itself and the read model against
//! the event store.
//!
//! - every account's postings have versions 1..=v without a gap, each `balance_after` is
//!   the previous one plus the amount, each links to the previous one's hash and hashes to
//!   its own (`ledger::chain`; the first broken link of an account is reported), and the
//!   head is the last posting;
//! - the books of each (app, asset) sum to zero, in the event store and in the read model;
//! - every account of the event store is in the read model with the same balance and
//!   version, and the read model has no other account;
//! - entries, completed and failed entries, and postings are as many in both.

use crate::decimal::stored_decimal;
use crate::ledger::chain;
use crate::query::ReadModel;
use crate::store::Store;
use entity::{account, entry, entry_event, read};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

const PAGE: u64 = 5_000;

/// At most this many differences are listed; the rest are counted.
const MAX_LISTED: usize = 100;

#[derive(Debug, Default)]
pub struct Report {
    pub accounts: u64,
    pub postings: u64,
    pub entries: u64,
    pub differences: Vec<String>,
    /// Differences found beyond the listed ones.
    pub unlisted: u64,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }

    fn differ(&mut self, what: String) {
        if self.differences.len() < MAX_LISTED {
            self.differences.push(what);
        } else {
            self.unlisted += 1;
        }
    }
}

pub async fn verify(store: &Store, read: &ReadModel) -> Result<Report, DbErr> {
    let mut report = Report::default();
    let replayed = replay_postings(store, &mut report).await?;
    let heads = store_heads(store).await?;
    report.accounts = heads.len() as u64;
    for (id, head) in &heads {
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
    books("event store", heads.values(), &mut report);

    let projected = read_heads(read).await?;
    books("read model", projected.values(), &mut report);
    for (id, head) in &heads {
        match projected.get(id) {
            Some(p) if p.balance == head.balance && p.version == head.version => {}
            Some(p) => report.differ(format!("event store: {head}; read model: {p}")),
            None => report.differ(format!("event store: {head}; missing from the read model")),
        }
    }
    for (id, p) in &projected {
        if !heads.contains_key(id) {
            report.differ(format!("read model: {p}; not in the event store"));
        }
    }

    report.entries = entry::Entity::find().count(store.conn()).await?;
    let counts = [
        (
            "entries",
            report.entries,
            read::entry::Entity::find().count(read.conn()).await?,
        ),
        (
            "postings",
            report.postings,
            read::posting::Entity::find().count(read.conn()).await?,
        ),
        (
            "completed entries",
            terminal_in_store(store, "completed").await?,
            terminal_in_read(read, "completed").await?,
        ),
        (
            "failed entries",
            terminal_in_store(store, "failed").await?,
            terminal_in_read(read, "failed").await?,
        ),
    ];
    for (what, in_store, in_read) in counts {
        if in_store != in_read {
            report.differ(format!(
                "{what}: {in_store} in the event store, {in_read} in the read model"
            ));
        }
    }
    Ok(report)
}

/// An account as its postings replay: balance, version, the last hash, and whether its
/// chain broke (only the first broken link is reported).
#[derive(Debug, Default, PartialEq)]
struct Replayed {
    balance: Decimal,
    version: i64,
    hash: String,
    broken: bool,
}

/// Walks every posting in (account, version) order, checking versions, balances and the
/// hash chain; returns each account as replayed.
async fn replay_postings(
    store: &Store,
    report: &mut Report,
) -> Result<HashMap<Uuid, Replayed>, DbErr> {
    let mut replayed: HashMap<Uuid, Replayed> = HashMap::new();
    let mut after: Option<(Uuid, i64)> = None;
    loop {
        let page = store.postings_after(after, PAGE).await?;
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
            if !r.broken && (p.prev_hash != r.hash || p.hash != chain::hash(&p)) {
                r.broken = true;
                let why = if p.prev_hash != r.hash {
                    "does not link to the previous posting"
                } else {
                    "does not match its content"
                };
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
        }
    }
}

/// An account's balance and version, as either side lists it.
#[derive(Debug)]
struct Listed {
    app: Uuid,
    asset: String,
    owner: String,
    balance: Decimal,
    version: i64,
    /// The last posting's hash (event store only; the read model keeps none).
    hash: String,
}

impl Listed {
    fn new(
        app: Uuid,
        asset: String,
        owner: String,
        balance: &str,
        version: i64,
    ) -> Result<Listed, DbErr> {
        let balance = stored_decimal(balance).map_err(DbErr::Custom)?;
        Ok(Listed {
            app,
            asset,
            owner,
            balance,
            version,
            hash: String::new(),
        })
    }
}

impl std::fmt::Display for Listed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Listed {
            app,
            asset,
            owner,
            balance,
            version,
            ..
        } = self;
        write!(
            f,
            "account {owner:?} ({asset}, app {app}) at v{version} with {balance}"
        )
    }
}

type Accounts = BTreeMap<Uuid, Listed>;

async fn store_heads(store: &Store) -> Result<Accounts, DbErr> {
    let rows = account::Entity::find().all(store.conn()).await?;
    rows.into_iter()
        .map(|a| {
            let head = Listed::new(a.app_id, a.asset, a.owner_id, &a.balance, a.version)?;
            Ok((
                a.id,
                Listed {
                    hash: a.hash,
                    ..head
                },
            ))
        })
        .collect()
}

async fn read_heads(read: &ReadModel) -> Result<Accounts, DbErr> {
    let rows = read::account::Entity::find().all(read.conn()).await?;
    rows.into_iter()
        .map(|a| {
            let head = Listed::new(a.app_id, a.asset, a.owner_id, &a.balance, a.version)?;
            Ok((a.id, head))
        })
        .collect()
}

/// Reports each (app, asset) whose balances do not sum to zero.
fn books<'a>(side: &str, heads: impl Iterator<Item = &'a Listed>, report: &mut Report) {
    let mut sums: BTreeMap<(Uuid, &str), Decimal> = BTreeMap::new();
    for head in heads {
        *sums.entry((head.app, head.asset.as_str())).or_default() += head.balance;
    }
    for ((app, asset), sum) in sums {
        if !sum.is_zero() {
            report.differ(format!(
                "{side}: the {asset} books of app {app} sum to {sum}, not 0"
            ));
        }
    }
}

async fn terminal_in_store(store: &Store, state: &str) -> Result<u64, DbErr> {
    entry_event::Entity::find()
        .filter(entry_event::Column::State.eq(state))
        .count(store.conn())
        .await
}

async fn terminal_in_read(read: &ReadModel, state: &str) -> Result<u64, DbErr> {
    read::entry::Entity::find()
        .filter(read::entry::Column::State.eq(state))
        .count(read.conn())
        .await
}
