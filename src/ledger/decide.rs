//! The ledger's decisions for a batch of commands, in memory, in order, against the state
//! loaded for it. No I/O: the write path (`workflow::transaction`) asks the store for what
//! the batch needs ([`Wanted`] → [`Loaded`]), this module decides every command's fate and
//! produces the rows to write ([`Plan`]), and the store writes them in one transaction.
//!
//! Invariants enforced here:
//! - **One entry per nonce**: a nonce is claimed as its command is decided, so a duplicate
//!   inside one batch is answered exactly as a duplicate across batches ([`claim`]).
//! - **No overdraw**: a debit may take what the owner's lots hold that counts now, never
//!   more ([`effects`]), against the lots left by the batch's earlier commands.
//! - **Lots match the balance**: per owner account, open lots' remaining less the shortfall
//!   equals the posted balance ([`book`]).
//! - **Books sum to zero**: every completed entry posts two legs of opposite sign
//!   ([`effects`]).
//! - **Batching changes nothing**: commands are decided one after another against the
//!   running state, so a batch ends where the same commands one at a time would end.

use super::codes::Refusal;
use super::command::{Command, HoldStep, Outcome};
use super::limits::{UsageKey, check_limits, count_usage};
use super::record::EntryRecord;
use super::state::{EntryState, IllegalTransition, Transitions};
use announcing::Announcing;
use book::Book;
use effects::Effects;
use entity::{
    account, allocation, app_event, entry, entry_event, event_seq, hold, lot, monitor, posting,
    reversal, usage,
};
pub use loaded::{Head, Loaded, Wanted};
use rust_decimal::Decimal;
use std::collections::HashSet;
use uuid::Uuid;

/// The rows a batch writes, and each command's outcome (in command order).
#[derive(Debug, Default)]
pub struct Plan {
    pub entries: Vec<entry::Model>,
    pub events: Vec<entry_event::Model>,
    pub postings: Vec<posting::Model>,
    pub heads: Vec<account::Model>,
    /// Every lot opened or changed, as the batch leaves it.
    pub lots: Vec<lot::Model>,
    pub allocations: Vec<allocation::Model>,
    /// Every hold placed or ended, as the batch leaves it.
    pub holds: Vec<hold::Model>,
    /// What has been reversed of each entry the batch reversed.
    pub reversals: Vec<reversal::Model>,
    pub usage: Vec<usage::Model>,
    /// The events the batch's entries announce, numbered per app.
    pub app_events: Vec<app_event::Model>,
    /// The last event `seq` of each app that announced something.
    pub event_seqs: Vec<event_seq::Model>,
    /// Every monitor whose side the batch set or changed.
    pub monitors: Vec<monitor::Model>,
    pub finished_pending: Vec<Uuid>,
    pub outcomes: Vec<Outcome>,
}

impl Plan {
    /// The entries this plan records, in command order.
    pub fn recorded(&self) -> impl Iterator<Item = &EntryRecord> {
        self.outcomes.iter().filter_map(|o| match o {
            Outcome::Recorded(record) => Some(&**record),
            _ => None,
        })
    }

    /// Each command's outcome in a word: its entry's state or failure code, or what
    /// answered it instead; for tests.
    #[cfg(test)]
    pub(crate) fn states(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .map(|o| match o {
                Outcome::Recorded(r) => r.failure_code().unwrap_or(r.state().as_str()).to_owned(),
                Outcome::Replay(_) => "replay".to_owned(),
                Outcome::NonceReused(_) => "nonce_reused".to_owned(),
                Outcome::NotDue => "not_due".to_owned(),
                Outcome::KeyRevoked => "key_revoked".to_owned(),
            })
            .collect()
    }
}

/// Keys in the order they were first touched, each once.
#[derive(Debug)]
struct Touched<K> {
    order: Vec<K>,
    seen: HashSet<K>,
}

impl<K> Default for Touched<K> {
    fn default() -> Self {
        Touched {
            order: Vec::new(),
            seen: HashSet::new(),
        }
    }
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

/// The running state of a batch being decided.
struct Deciding {
    loaded: Loaded,
    book: Book,
    plan: Plan,
    heads: Touched<Uuid>,
    usage: Touched<UsageKey>,
    /// The entries whose reversal bookkeeping the batch changed.
    reversals: Touched<Uuid>,
    /// Event numbers and monitors.
    announcing: Announcing,
    now: i64,
}

/// Decides `commands` in order at time `now` (µs since the epoch).
pub fn decide(
    commands: &[Command],
    mut loaded: Loaded,
    now: i64,
) -> Result<Plan, IllegalTransition> {
    let lots = std::mem::take(&mut loaded.lots);
    let holds = std::mem::take(&mut loaded.holds);
    let announcing = Announcing::new(&mut loaded);
    let mut batch = Deciding {
        book: Book::new(lots, holds, now),
        loaded,
        plan: Plan::default(),
        heads: Touched::new(),
        usage: Touched::new(),
        reversals: Touched::new(),
        announcing,
        now,
    };
    batch.first_sight();
    for cmd in commands {
        // Read in the batch's transaction: a key revoked before the batch is refused, as
        // every other endpoint refuses it from its next request on.
        if cmd
            .key_id
            .is_some_and(|key| !batch.loaded.live_keys.contains(&key))
        {
            batch.plan.outcomes.push(Outcome::KeyRevoked);
            continue;
        }
        if batch.is_premature(cmd) {
            batch.plan.outcomes.push(Outcome::NotDue);
            continue;
        }
        match claim(cmd, &mut batch.loaded) {
            Some(answer) => batch.plan.outcomes.push(answer),
            None => batch.record(cmd)?,
        }
    }
    Ok(batch.finish())
}

/// The nonce check: `None` when `cmd` now holds its nonce (its entry is recorded by this
/// batch), else the answer for a nonce held by an earlier entry.
fn claim(cmd: &Command, loaded: &mut Loaded) -> Option<Outcome> {
    let key = (cmd.app_id, cmd.nonce.as_str().to_owned());
    if cmd.stored {
        // Another instance may have finished this async entry since it was queued here.
        if !loaded.pending.remove(&cmd.entry_id) {
            return Some(Outcome::Replay(cmd.entry_id));
        }
    } else if let Some((entry_id, hash)) = loaded.nonces.get(&key) {
        return Some(if *hash == cmd.request_hash {
            Outcome::Replay(*entry_id)
        } else {
            Outcome::NonceReused(*entry_id)
        });
    }
    // From here on the nonce is this entry's, in this batch as in later ones.
    loaded
        .nonces
        .insert(key, (cmd.entry_id, cmd.request_hash.clone()));
    None
}

impl Deciding {
    /// Walks `cmd`'s entry through the workflow's states and adds its rows.
    fn record(&mut self, cmd: &Command) -> Result<(), IllegalTransition> {
        let now = self.now;
        let mut transitions = Transitions::received(cmd.received_at);
        transitions.advance(EntryState::Validating, now)?;
        // The nonce check passed in `claim`; the balance check follows it.
        let amount = self.amount_of(cmd);
        let failure = match (check_limits(cmd, &self.loaded.usage, now), &amount) {
            (Some(refusal), _) => Some((EntryState::Validating, refusal)),
            (None, Err(refusal)) => Some((EntryState::BalanceCheck, refusal.clone())),
            (None, Ok(amount)) => self
                .check_state(cmd, *amount)
                .map(|r| (EntryState::BalanceCheck, r)),
        };
        let mut effects = Effects::default();
        let failure = match failure {
            Some((at, refusal)) => {
                advance_to(&mut transitions, at, now)?;
                transitions.advance(EntryState::Failed, now)?;
                Some(refusal)
            }
            None => {
                let amount = amount.as_ref().copied().unwrap_or(cmd.amount.get());
                effects = self.run(cmd, amount, &mut transitions)?;
                None
            }
        };
        self.add(cmd, amount.ok(), &transitions, failure, effects);
        Ok(())
    }

    /// The balance check, in the wide sense: why the ledger's state refuses `cmd`, if it
    /// does (its accounts' status, then its own rule).
    fn check_state(&self, cmd: &Command, amount: Decimal) -> Option<Refusal> {
        if let Some(refusal) = self.status_refusal(cmd) {
            return Some(refusal);
        }
        match (cmd.control, cmd.hold, &cmd.reversal) {
            (Some(control), _, _) => self.check_control(cmd, control),
            (_, Some(step), _) => self.check_hold(cmd, step, amount),
            (_, _, Some(reversal)) => self.check_reversal(cmd, reversal, amount),
            _ => self.check_balance(cmd, amount),
        }
    }

    /// Moves a command that passed its checks on to its last state, applying it.
    fn run(
        &mut self,
        cmd: &Command,
        amount: Decimal,
        transitions: &mut Transitions,
    ) -> Result<Effects, IllegalTransition> {
        let now = self.now;
        if let Some(HoldStep::Place { expires_at }) = cmd.hold {
            advance_to(transitions, EntryState::BalanceCheck, now)?;
            transitions.advance(EntryState::Held, now)?;
            return Ok(self.place_hold(cmd, amount, expires_at));
        }
        advance_to(transitions, EntryState::Processing, now)?;
        let effects = match (cmd.control, cmd.hold, &cmd.reversal) {
            (Some(control), _, _) => self.apply_control(cmd, control),
            (_, Some(step), _) => self.end_hold(cmd, step, amount)?,
            (_, _, Some(reversal)) => self.apply_reversal(cmd, reversal, amount),
            _ => self.apply(cmd, amount),
        };
        for key in count_usage(cmd, &mut self.loaded.usage, now) {
            self.usage.touch(&key);
        }
        transitions.advance(EntryState::Completed, now)?;
        Ok(effects)
    }

    /// Adds the rows of `cmd`'s entry, and its outcome.
    fn add(
        &mut self,
        cmd: &Command,
        amount: Option<Decimal>,
        transitions: &Transitions,
        failure: Option<Refusal>,
        effects: Effects,
    ) {
        let events = event_rows(cmd.entry_id, transitions, failure);
        let mut entry = cmd.entry_row();
        if let Some(amount) = amount {
            entry.amount = amount.to_string();
        }
        if cmd.stored {
            // The stored `received` event (seq 0) is already there.
            self.plan.events.extend(events.iter().skip(1).cloned());
            self.plan.finished_pending.push(cmd.entry_id);
        } else {
            self.plan.entries.push(entry.clone());
            self.plan.events.extend(events.iter().cloned());
        }
        self.plan.postings.extend(effects.postings.iter().cloned());
        self.plan
            .allocations
            .extend(effects.allocations.iter().cloned());
        let mut record = EntryRecord {
            entry,
            events,
            postings: effects.postings,
            lots: effects.lots,
            allocations: effects.allocations,
            holds: effects.holds,
            reversals: effects.reversals,
            app_events: Vec::new(),
        };
        self.announce(&mut record);
        self.plan
            .app_events
            .extend(record.app_events.iter().cloned());
        self.plan.outcomes.push(Outcome::Recorded(Box::new(record)));
    }

    /// The plan, with a row for every head and usage window the batch touched.
    fn finish(mut self) -> Plan {
        for id in self.heads.order {
            self.plan.heads.push(self.loaded.heads[&id].row(id));
        }
        (self.plan.lots, self.plan.holds) = self.book.into_rows();
        for id in &self.reversals.order {
            if let Some(row) = self.loaded.reversed.get(id) {
                self.plan.reversals.push(row.clone());
            }
        }
        (self.plan.event_seqs, self.plan.monitors) = self.announcing.into_rows();
        for key in self.usage.order {
            let u = &self.loaded.usage[&key];
            let (app_id, owner_id, operation, window) = key;
            self.plan.usage.push(usage::Model {
                app_id,
                owner_id,
                operation,
                window,
                count: u.count,
                total: u.total.to_string(),
                last_at: u.last_at,
            });
        }
        self.plan
    }
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

fn event_rows(
    entry_id: Uuid,
    transitions: &Transitions,
    failure: Option<Refusal>,
) -> Vec<entry_event::Model> {
    let last = transitions.steps().len() - 1;
    let mut failure = failure;
    transitions
        .steps()
        .iter()
        .enumerate()
        .map(|(seq, (state, at))| {
            let (code, detail) = if seq == last {
                failure.take().map_or((None, None), |r| {
                    (Some(r.code.as_str().to_owned()), Some(r.detail))
                })
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

mod announcing;
mod book;
mod controls;
mod effects;
#[cfg(test)]
mod given;
mod holding;
mod loaded;
#[cfg(test)]
mod lot_model;
#[cfg(test)]
mod memory;
#[cfg(test)]
mod properties;
mod reversing;
#[cfg(test)]
mod tests;
