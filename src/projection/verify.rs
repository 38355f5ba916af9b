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
//! - entries, completed and failed entries, and postings are as many in both;
//! - the lots hold the balances, and each expiry is recorded once (`lots`);
//! - the holds' shares, what they reserve, and their links to the entries that end them
//!   (`holds`); what each entry's reversals took back, and their links (`reversals`);
//! - each app's events are kept without a gap from above what the retention pruned to the
//!   last number given, and a read model of its own holds them (`events`).
//!
//! A read model that trails the event store is not a difference: if it is a consistent
//! prefix of it, the report says by how much it is behind ([`Behind`]) instead. Consistent
//! means: every projected account is at a version the event store has, with the balance the
//! event store had at that version; it holds exactly its postings 1..=v (the read model's
//! postings are as many as its accounts' versions add up to, none without its entry); its
//! books sum to zero; and it has no more of anything than the event store. Anything else is
//! a difference, and then what trails is listed as differences too.
//!
//! A read model in the event store's database shows the event store's own entries,
//! accounts, postings, lots, holds, reversals and events (views, and the `entries` table
//! itself): those comparisons hold by construction there, and what is checked is the event
//! store against itself.

use crate::decimal::stored_decimal;
use crate::query::ReadModel;
use crate::store::{self, Store};
use entity::{account, read};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, Statement};
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

mod events;
mod holds;
mod lots;
mod replay;
mod reversals;
mod totals;

use replay::{Replayed, check_heads, replay_postings};
use totals::{Totals, compare_totals, read_totals, store_totals};

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
    /// How far a consistent read model trails the event store (`None`: it does not).
    pub behind: Option<Behind>,
}

/// How far a read model that is a consistent prefix of the event store trails it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Behind {
    /// Entries of the event store the read model does not have yet, or has at an earlier
    /// state.
    pub entries: u64,
    /// Accounts the read model has at an earlier version, or not yet.
    pub accounts: u64,
}

impl Report {
    /// No difference: equal, or behind but consistent.
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

/// What trails in the read model: a line per lagging account or count, and how many
/// entries and accounts lag.
#[derive(Default)]
struct Lag {
    lines: Vec<String>,
    entries: u64,
    accounts: u64,
}

pub async fn verify(store: &Store, read: &ReadModel) -> Result<Report, DbErr> {
    // The read model first, then the event store, each in one snapshot: however both are
    // written meanwhile, what the read model shows was committed to the event store before
    // the event store's snapshot, so a live system's read model can only trail it.
    let rm = store::snapshot(read.conn()).await?;
    let projected = read_heads(&rm).await?;
    let in_read = read_totals(&rm, read.shares_store()).await?;
    // Sharing the event store's database, the read model's postings, entries and events
    // are the event store's: nothing to check.
    let (orphans, read_events) = if read.shares_store() {
        (None, None)
    } else {
        (
            Some(orphan_postings(&rm).await?),
            Some(events::read_events(&rm).await?),
        )
    };
    let read_lots = lots::read_lots(&rm).await?;
    let read_holds = holds::read_holds(&rm).await?;
    let read_reversals = reversals::read_reversals(&rm).await?;
    rm.commit().await?;

    let mut report = Report::default();
    let es = store::snapshot(store.conn()).await?;
    let replayed = replay_postings(&es, &projected, &mut report).await?;
    let rows = account::Entity::find().all(&es).await?;
    let heads = store_heads(&rows)?;
    let in_store = store_totals(&es, report.postings).await?;
    let store_lots = lots::store_lots(&es).await?;
    lots::check(&es, &store_lots, &rows, &mut report).await?;
    let store_holds = holds::store_holds(&es).await?;
    holds::check(&es, &store_holds, (&store_lots, &rows), &mut report).await?;
    let store_reversals = reversals::store_reversals(&es).await?;
    reversals::check(&es, &store_reversals, &mut report).await?;
    // Read after the event store's snapshot was taken (by its first read, above).
    let floors = events::read_floors(read.conn()).await?;
    let store_events = events::check(&es, &floors, read_events.is_some(), &mut report).await?;
    es.commit().await?;
    // Only accounts the read model has at the event store's version: a lagging one's lots
    // may trail too.
    let current: HashSet<Uuid> = projected
        .iter()
        .filter(|(id, p)| heads.get(id).is_some_and(|h| h.version == p.version))
        .map(|(id, _)| *id)
        .collect();
    let read_lots = read_lots
        .into_iter()
        .filter(|(_, l)| current.contains(&l.account_id))
        .collect();
    lots::compare(&store_lots, &read_lots, &current, &mut report);
    // A hold posts nothing until it ends, so no account version says whether the read
    // model has it: compared once the read model has every entry.
    if in_read.entries == in_store.entries {
        holds::compare(&store_holds, &read_holds, &mut report);
        reversals::compare(&store_reversals, &read_reversals, &mut report);
    }
    // An event is written with the entry that caused it: compared once the read model has
    // every entry in its final state.
    if let (Some(read_events), Some(store_events)) = (read_events, store_events)
        && in_read.settled_as(&in_store)
    {
        events::compare(&store_events, &read_events, &mut report);
    }

    report.accounts = heads.len() as u64;
    report.entries = in_store.entries;
    check_heads(&heads, &replayed, &mut report);
    books("event store", heads.values(), &mut report);
    books("read model", projected.values(), &mut report);
    if let Some(orphans) = orphans {
        check_read_postings(&projected, &in_read, orphans, &mut report);
    }
    let mut lag = compare_accounts(&heads, &projected, &replayed, &mut report);
    compare_totals(&in_store, &in_read, &mut report, &mut lag);
    if !report.is_clean() {
        lag.lines.into_iter().for_each(|line| report.differ(line));
    } else if !lag.lines.is_empty() {
        report.behind = Some(Behind {
            entries: lag.entries,
            accounts: lag.accounts,
        });
    }
    Ok(report)
}

/// Each projected account against the event store: equal, behind (at a version the event
/// store had, with the balance it had then), or different.
fn compare_accounts(
    heads: &Accounts,
    projected: &Accounts,
    replayed: &HashMap<Uuid, Replayed>,
    report: &mut Report,
) -> Lag {
    let mut lag = Lag::default();
    for (id, head) in heads {
        let at_projected = replayed.get(id).and_then(|r| r.at_projected);
        match projected.get(id) {
            Some(p) if p.balance == head.balance && p.version == head.version => continue,
            Some(p) if p.version < head.version && at_projected == Some(p.balance) => lag
                .lines
                .push(format!("event store: {head}; read model: {p}")),
            Some(p) => report.differ(format!("event store: {head}; read model: {p}")),
            None => lag
                .lines
                .push(format!("event store: {head}; missing from the read model")),
        }
        lag.accounts += 1;
    }
    for (id, p) in projected {
        if !heads.contains_key(id) {
            report.differ(format!("read model: {p}; not in the event store"));
        }
    }
    lag
}

/// The read model holds exactly postings 1..=v of each account at version v, each with its
/// entry.
fn check_read_postings(projected: &Accounts, totals: &Totals, orphans: i64, report: &mut Report) {
    let versions: i64 = projected.values().map(|p| p.version).sum();
    if i64::try_from(totals.postings).ok() != Some(versions) {
        report.differ(format!(
            "read model: {} postings, but its accounts' versions add up to {versions}",
            totals.postings
        ));
    }
    if orphans > 0 {
        report.differ(format!(
            "read model: {orphans} postings of entries it does not have"
        ));
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

fn store_heads(rows: &[account::Model]) -> Result<Accounts, DbErr> {
    // A head at version 0 only carries a status (an account control before any posting):
    // there is nothing to replay or to project.
    rows.iter()
        .filter(|a| a.version > 0)
        .map(|a| {
            let head = Listed::new(
                a.app_id,
                a.asset.clone(),
                a.owner_id.clone(),
                &a.balance,
                a.version,
            )?;
            Ok((
                a.id,
                Listed {
                    hash: a.hash.clone(),
                    ..head
                },
            ))
        })
        .collect()
}

async fn read_heads(db: &DatabaseTransaction) -> Result<Accounts, DbErr> {
    let rows = read::account::Entity::find().all(db).await?;
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

/// Read-model postings whose entry the read model does not have.
async fn orphan_postings(db: &DatabaseTransaction) -> Result<i64, DbErr> {
    let sql = "SELECT COUNT(*) AS n FROM rm_postings p \
               LEFT JOIN rm_entries e ON e.id = p.entry_id WHERE e.id IS NULL";
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}
