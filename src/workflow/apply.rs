//! Applying a batch of commands in memory, in order, against the state loaded for it.
//!
//! This is the ledger's decision logic and it does no I/O: the store loads what the batch
//! needs ([`Loaded`]), this module decides every command's fate and produces the rows to
//! write ([`Plan`]), and the store writes them in one transaction. Because commands are
//! applied one after another against the running state, a batch decides exactly what the
//! same commands applied one at a time would.

use super::chain;
use super::command::{Command, Outcome, account_id};
use super::record::EntryRecord;
use super::state::{EntryState, IllegalTransition, Transitions};
use entity::{account, entry, entry_event, posting, usage};
use operations::Direction;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use uuid::Uuid;

/// The head of an account as the batch sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub app_id: Uuid,
    pub owner_id: String,
    pub asset: String,
    pub balance: Decimal,
    pub version: i64,
    pub updated_at: i64,
    /// Of the last posting; the next one chains to it.
    pub hash: String,
}

/// Keys in the order they were first touched, each once.
struct Touched<K> {
    order: Vec<K>,
    seen: HashSet<K>,
}

impl<K: Clone + Eq + std::hash::Hash> Touched<K> {
    fn new() -> Self {
        Touched {
            order: Vec::new(),
            seen: HashSet::new(),
        }
    }

    fn touch(&mut self, key: &K) {
        if self.seen.insert(key.clone()) {
            self.order.push(key.clone());
        }
    }
}

/// `(app, owner, operation, window key)`.
pub type UsageKey = (Uuid, String, String, String);

/// A window's usage: completed entries, their total, the time of the last one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Usage {
    pub count: i64,
    pub total: Decimal,
    pub last_at: i64,
}

/// The stored state a batch depends on.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Claimed nonces: `(app, nonce)` → (entry id, request hash).
    pub nonces: HashMap<(Uuid, String), (Uuid, String)>,
    pub heads: HashMap<Uuid, Head>,
    pub usage: HashMap<UsageKey, Usage>,
    /// Of the batch's stored (async) entries, those not finished yet.
    pub pending: HashSet<Uuid>,
}

/// The rows a batch writes, and each command's outcome (in command order).
#[derive(Debug, Default)]
pub struct Plan {
    pub entries: Vec<entry::Model>,
    pub events: Vec<entry_event::Model>,
    pub postings: Vec<posting::Model>,
    pub heads: Vec<account::Model>,
    pub usage: Vec<usage::Model>,
    pub finished_pending: Vec<Uuid>,
    pub outcomes: Vec<Outcome>,
}

/// Why an entry failed after it was recorded.
struct Refusal {
    at: EntryState,
    code: &'static str,
    detail: String,
}

/// Applies `commands` in order at time `now` (µs since the epoch).
pub fn apply(
    commands: &[Command],
    mut loaded: Loaded,
    now: i64,
) -> Result<Plan, IllegalTransition> {
    let mut plan = Plan::default();
    let mut touched_heads = Touched::new();
    let mut touched_usage = Touched::new();

    for cmd in commands {
        let key = (cmd.app_id, cmd.nonce.clone());
        if cmd.stored {
            // Another instance may have finished this async entry since it was queued here.
            if !loaded.pending.remove(&cmd.entry_id) {
                plan.outcomes.push(Outcome::Replay(cmd.entry_id));
                continue;
            }
        } else if let Some((entry_id, hash)) = loaded.nonces.get(&key) {
            plan.outcomes.push(if *hash == cmd.request_hash {
                Outcome::Replay(*entry_id)
            } else {
                Outcome::NonceReused(*entry_id)
            });
            continue;
        }
        // From here on the nonce is this entry's, in this batch as in later ones.
        loaded
            .nonces
            .insert(key, (cmd.entry_id, cmd.request_hash.clone()));

        let mut transitions = Transitions::received(cmd.received_at);
        transitions.advance(EntryState::Validating, now)?;
        let refusal = check_limits(cmd, &loaded.usage, now)
            .map(|detail| Refusal {
                at: EntryState::Validating,
                code: "limit_exceeded",
                detail,
            })
            .or_else(|| {
                // nonce_check passed above; the balance check follows it.
                check_balance(cmd, &loaded.heads)
            });

        let mut postings = Vec::new();
        let mut failure = None;
        match refusal {
            Some(refusal) => {
                advance_to(&mut transitions, refusal.at, now)?;
                transitions.advance(EntryState::Failed, now)?;
                failure = Some((refusal.code, refusal.detail));
            }
            None => {
                advance_to(&mut transitions, EntryState::Processing, now)?;
                postings = post(cmd, &mut loaded.heads, &mut touched_heads, now);
                count_usage(cmd, &mut loaded.usage, &mut touched_usage, now);
                transitions.advance(EntryState::Completed, now)?;
            }
        }

        let events = event_rows(cmd.entry_id, &transitions, failure);
        let entry = cmd.entry_row();
        if cmd.stored {
            // The stored `received` event (seq 0) is already there.
            plan.events.extend(events.iter().skip(1).cloned());
            plan.finished_pending.push(cmd.entry_id);
        } else {
            plan.entries.push(entry.clone());
            plan.events.extend(events.iter().cloned());
        }
        plan.postings.extend(postings.iter().cloned());
        plan.outcomes.push(Outcome::Recorded(Box::new(EntryRecord {
            entry,
            events,
            postings,
        })));
    }

    for id in touched_heads.order {
        let head = &loaded.heads[&id];
        plan.heads.push(account::Model {
            id,
            app_id: head.app_id,
            owner_id: head.owner_id.clone(),
            asset: head.asset.clone(),
            balance: head.balance.to_string(),
            version: head.version,
            updated_at: head.updated_at,
            hash: head.hash.clone(),
        });
    }
    for key in touched_usage.order {
        let u = &loaded.usage[&key];
        let (app_id, owner_id, operation, window) = key;
        plan.usage.push(usage::Model {
            app_id,
            owner_id,
            operation,
            window,
            count: u.count,
            total: u.total.to_string(),
            last_at: u.last_at,
        });
    }
    Ok(plan)
}

/// Walks on from `validating` through the checking states until `target`.
fn advance_to(
    transitions: &mut Transitions,
    target: EntryState,
    now: i64,
) -> Result<(), IllegalTransition> {
    for state in [
        EntryState::NonceCheck,
        EntryState::BalanceCheck,
        EntryState::Processing,
    ] {
        if transitions.current() == target {
            break;
        }
        transitions.advance(state, now)?;
    }
    Ok(())
}

/// The usage keys an entry of `cmd` reads and writes at `now`.
pub fn usage_keys(cmd: &Command, now: i64) -> Vec<UsageKey> {
    cmd.operation
        .tracked_windows()
        .into_iter()
        .map(|w| {
            (
                cmd.app_id,
                cmd.owner_id.clone(),
                cmd.operation.name.clone(),
                w.key(now),
            )
        })
        .collect()
}

/// Why the operation's limits refuse this entry now, if they do.
fn check_limits(cmd: &Command, usage: &HashMap<UsageKey, Usage>, now: i64) -> Option<String> {
    let op = &cmd.operation;
    if !op.is_limited() {
        return None;
    }
    let get = |window: operations::Window| {
        let key = (
            cmd.app_id,
            cmd.owner_id.clone(),
            op.name.clone(),
            window.key(now),
        );
        usage.get(&key).cloned().unwrap_or_default()
    };
    if let Some(cooldown) = op.cooldown_seconds {
        let last = get(operations::Window::Lifetime);
        let cooldown_us = i64::try_from(cooldown).unwrap_or(i64::MAX / 2) * 1_000_000;
        if last.count > 0 && now < last.last_at.saturating_add(cooldown_us) {
            return Some(format!(
                "{} has a cooldown of {cooldown} s; the last one was {} s ago",
                op.name,
                (now - last.last_at) / 1_000_000
            ));
        }
    }
    for limit in &op.limits {
        let u = get(limit.window);
        if !limit.allows(u64::try_from(u.count).unwrap_or(0), u.total, cmd.amount) {
            let cap = match (limit.max_count, limit.max_amount) {
                (Some(n), None) => format!("at most {n} entries"),
                (None, Some(a)) => format!("at most {a} in total"),
                (Some(n), Some(a)) => format!("at most {n} entries and {a} in total"),
                (None, None) => String::new(),
            };
            let per = match limit.window {
                operations::Window::Lifetime => "per owner".to_owned(),
                w => format!("per owner per UTC {}", w.as_str()),
            };
            return Some(format!(
                "{} allows {cap} {per}; this owner has {} ({})",
                op.name, u.count, u.total
            ));
        }
    }
    None
}

/// Why the owner's balance cannot carry this entry, if it cannot.
fn check_balance(cmd: &Command, heads: &HashMap<Uuid, Head>) -> Option<Refusal> {
    let op = &cmd.operation;
    if op.direction == Direction::Credit || op.overdraft {
        return None;
    }
    let id = account_id(cmd.app_id, &cmd.owner_id, &op.asset);
    let balance = heads.get(&id).map_or(Decimal::ZERO, |h| h.balance);
    // The floor is zero: a debit may take the balance to zero but never below it.
    (balance - cmd.amount < Decimal::ZERO).then(|| Refusal {
        at: EntryState::BalanceCheck,
        code: "insufficient_balance",
        detail: format!(
            "the balance of {} is {balance}; {} needs {}",
            cmd.owner_id, op.name, cmd.amount
        ),
    })
}

/// Appends the entry's two postings: the owner's leg, then the other side's.
fn post(
    cmd: &Command,
    heads: &mut HashMap<Uuid, Head>,
    touched: &mut Touched<Uuid>,
    now: i64,
) -> Vec<posting::Model> {
    let owner_delta = match cmd.operation.direction {
        Direction::Credit => cmd.amount,
        Direction::Debit | Direction::Transfer => -cmd.amount,
    };
    let asset = &cmd.operation.asset;
    [
        (cmd.owner_id.as_str(), owner_delta),
        (cmd.other_owner(), -owner_delta),
    ]
    .into_iter()
    .map(|(owner_id, delta)| {
        let id = account_id(cmd.app_id, owner_id, asset);
        touched.touch(&id);
        let head = heads.entry(id).or_insert_with(|| Head {
            app_id: cmd.app_id,
            owner_id: owner_id.to_owned(),
            asset: asset.clone(),
            balance: Decimal::ZERO,
            version: 0,
            updated_at: 0,
            hash: chain::GENESIS.to_owned(),
        });
        head.version += 1;
        head.balance += delta;
        // Per account, recorded_at never goes back, so "balance at T" is one index lookup
        // even when instances' clocks differ a little.
        head.updated_at = head.updated_at.max(now);
        let mut posting = posting::Model {
            account_id: id,
            version: head.version,
            entry_id: cmd.entry_id,
            app_id: cmd.app_id,
            owner_id: owner_id.to_owned(),
            asset: asset.clone(),
            amount: delta.to_string(),
            balance_after: head.balance.to_string(),
            recorded_at: head.updated_at,
            prev_hash: std::mem::take(&mut head.hash),
            hash: String::new(),
        };
        posting.hash = chain::hash(&posting);
        head.hash = posting.hash.clone();
        posting
    })
    .collect()
}

fn count_usage(
    cmd: &Command,
    usage: &mut HashMap<UsageKey, Usage>,
    touched: &mut Touched<UsageKey>,
    now: i64,
) {
    for key in usage_keys(cmd, now) {
        let u = usage.entry(key.clone()).or_default();
        u.count += 1;
        u.total += cmd.amount;
        u.last_at = now;
        touched.touch(&key);
    }
}

fn event_rows(
    entry_id: Uuid,
    transitions: &Transitions,
    failure: Option<(&'static str, String)>,
) -> Vec<entry_event::Model> {
    let last = transitions.steps().len() - 1;
    let mut failure = failure;
    transitions
        .steps()
        .iter()
        .enumerate()
        .map(|(seq, (state, at))| {
            let (code, detail) = if seq == last {
                failure
                    .take()
                    .map_or((None, None), |(c, d)| (Some(c.to_owned()), Some(d)))
            } else {
                (None, None)
            };
            entry_event::Model {
                entry_id,
                seq: seq as i32,
                state: state.as_str().to_owned(),
                at: *at,
                failure_code: code,
                failure_detail: detail,
                earlier: None,
            }
        })
        .collect()
}

/// Reads a stored decimal. Stored amounts are written by this crate in canonical form, so a
/// value that does not parse is corruption, reported as such rather than read as zero.
pub fn stored_decimal(text: &str) -> Result<Decimal, String> {
    Decimal::from_str(text).map_err(|_| format!("stored amount {text:?} is not a decimal"))
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
