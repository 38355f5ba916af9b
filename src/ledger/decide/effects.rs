//! What a command does to the accounts and lots it touches: the balance check, the two
//! postings, and the lots opened, drawn from or closed.
//!
//! Invariants enforced here:
//! - **No overdraw**: a debit without overdraft may take what the owner's lots hold that
//!   counts now, less the shortfall; never more ([`Deciding::check_balance`]).
//! - **Exact expiry**: a lot counts for a draw or a void only before its expiry instant, and
//!   its expiry is recorded only from that instant on ([`Deciding::amount_of`]).
//! - **Books sum to zero**: every completed entry posts two legs of opposite sign ([`post`]).

use super::book::Terms;
use super::{Deciding, Head, Touched};
use crate::ledger::chain;
use crate::ledger::codes::{Code, Refusal};
use crate::ledger::command::{Command, HoldStep, account_id};
use crate::ledger::lots::{self, Draw};
use crate::time::to_rfc3339 as rfc3339;
use entity::{allocation, hold, lot, posting, reversal};
use operations::{Category, DEFAULT_PRIORITY, Direction, EXPIRY};
use rust_decimal::Decimal;
use std::collections::HashMap;
use uuid::Uuid;

/// The rows a completed entry adds.
#[derive(Debug, Default)]
pub(super) struct Effects {
    pub postings: Vec<posting::Model>,
    /// The lots opened, then the lots drawn from, as the entry left them.
    pub lots: Vec<lot::Model>,
    pub allocations: Vec<allocation::Model>,
    /// The hold placed or ended, as the entry left it.
    pub holds: Vec<hold::Model>,
    /// What has been reversed of the entry a reversal reverses, as it left it.
    pub reversals: Vec<reversal::Model>,
}

/// The system account that a transfer's uncovered part (an overdraft, where the operation
/// allows one) is voided back to: no lot stands behind it.
const OVERDRAFT_ACCOUNT: &str = "@system:overdraft";

impl Deciding {
    /// What `cmd` moves: its amount, or, for an expiry or a void, all its lot still holds.
    pub(super) fn amount_of(&self, cmd: &Command) -> Result<Decimal, Refusal> {
        if let Some(reversal) = &cmd.reversal {
            return self.reversal_amount(reversal);
        }
        let Some(id) = cmd.target_lot else {
            return Ok(cmd.amount.get());
        };
        let lot = self.book.open_lot(id).ok_or_else(|| {
            Refusal::new(
                Code::LotClosed,
                format!("lot {id} is closed: spent, expired or voided"),
            )
        })?;
        let expired = !lot.counts_at(self.now);
        match (cmd.operation.name.as_str(), lot.expires_at) {
            // What holds that outlast the lot keep of it, their capture may still spend.
            (EXPIRY, _) => Ok(lot.remaining - self.book.kept(id)),
            (_, Some(at)) if expired => Err(Refusal::new(
                Code::LotClosed,
                format!("lot {id} expired at {}", rfc3339(at)),
            )),
            _ if self.book.is_reserved(id) => Err(Refusal::new(
                Code::LotReserved,
                format!("open holds reserve part of lot {id}: capture or void them first"),
            )),
            _ => Ok(lot.remaining),
        }
    }

    /// Whether `cmd` is the expiry of a lot or hold whose instant has not come: it must not
    /// be recorded (nor its nonce claimed) before then.
    pub(super) fn is_premature(&self, cmd: &Command) -> bool {
        let not_yet = |at: Option<i64>| at.is_some_and(|at| self.now < at);
        if let Some(id) = cmd.target_lot.filter(|_| cmd.operation.name == EXPIRY) {
            return self
                .book
                .open_lot(id)
                .is_some_and(|l| not_yet(l.expires_at));
        }
        match cmd.hold {
            Some(HoldStep::Expire(id)) => self
                .book
                .hold(id)
                .is_some_and(|h| h.is_open() && not_yet(Some(h.expires_at))),
            _ => false,
        }
    }

    /// Why the owner's lots cannot carry this entry, if they cannot.
    pub(super) fn check_balance(&self, cmd: &Command, amount: Decimal) -> Option<Refusal> {
        let op = &cmd.operation;
        if op.direction == Direction::Credit || op.overdraft {
            return None;
        }
        self.shortage(cmd, amount)
    }

    /// Why the owner's free lots, less its shortfall, do not cover `amount`, if they do not.
    pub(super) fn shortage(&self, cmd: &Command, amount: Decimal) -> Option<Refusal> {
        let op = &cmd.operation;
        let id = account_id(cmd.app_id, cmd.owner_id.as_str(), &op.asset);
        let shortfall = self
            .loaded
            .heads
            .get(&id)
            .map_or(Decimal::ZERO, |h| h.shortfall);
        let available = self.book.available(id, self.now) - shortfall;
        // The floor is zero: a debit may take the available balance to zero, never below.
        (available < amount).then(|| {
            Refusal::new(
                Code::InsufficientBalance,
                format!(
                    "the available balance of {} is {available}; {} needs {amount}",
                    cmd.owner_id, op.name
                ),
            )
        })
    }

    /// Posts `amount` for `cmd` and applies it to the lots.
    pub(super) fn apply(&mut self, cmd: &Command, amount: Decimal) -> Effects {
        let now = self.now;
        let postings = post(cmd, amount, &mut self.loaded.heads, &mut self.heads, now);
        let recorded_at = postings.first().map_or(now, |p| p.recorded_at);
        let op = &cmd.operation;
        let owner = account_id(cmd.app_id, cmd.owner_id.as_str(), &op.asset);
        let mut effects = Effects {
            postings,
            ..Effects::default()
        };
        let draw = match (cmd.target_lot, op.direction) {
            (Some(lot), _) => Draw {
                allocations: self.book.take(lot, amount).into_iter().collect(),
                uncovered: Decimal::ZERO,
            },
            (None, Direction::Credit) => {
                let terms = credit_terms(cmd, now);
                effects.lots = self.credit(cmd, cmd.owner_id.as_str(), vec![(terms, amount)]);
                return effects;
            }
            (None, Direction::Debit | Direction::Transfer) => {
                let (draw, drawn_terms) = self.book.draw(owner, amount, now);
                if let Some(receiver) = &cmd.counterparty_id {
                    let mut pieces: Vec<(Terms, Decimal)> = drawn_terms
                        .into_iter()
                        .zip(draw.allocations.iter().map(|a| a.amount))
                        .collect();
                    if draw.uncovered > Decimal::ZERO {
                        let terms = Terms {
                            category: Category::Paid,
                            priority: DEFAULT_PRIORITY,
                            expires_at: None,
                            counter_account: OVERDRAFT_ACCOUNT.to_owned(),
                        };
                        pieces.push((terms, draw.uncovered));
                    }
                    effects.lots = self.credit(cmd, receiver.as_str(), pieces);
                }
                draw
            }
        };
        if let Some(head) = self.loaded.heads.get_mut(&owner) {
            head.shortfall += draw.uncovered;
        }
        let (allocations, drawn) =
            self.book
                .settle(cmd.entry_id, &op.name, &draw.allocations, recorded_at);
        effects.allocations = allocations;
        effects.lots.extend(drawn);
        effects
    }

    /// Credits `pieces` to `owner`'s account: each covers what is left of the shortfall
    /// first, and the rest of it opens a lot with its terms. Returns the lots opened.
    pub(super) fn credit(
        &mut self,
        cmd: &Command,
        owner: &str,
        pieces: Vec<(Terms, Decimal)>,
    ) -> Vec<lot::Model> {
        let asset = &cmd.operation.asset;
        let id = account_id(cmd.app_id, owner, asset);
        let template = lot::Model {
            id: Uuid::nil(),
            account_id: id,
            entry_id: Some(cmd.entry_id),
            category: String::new(),
            priority: 0,
            expires_at: None,
            created_at: self.now,
            amount: String::new(),
            counter_account: String::new(),
            remaining: String::new(),
            status: String::new(),
            closed_by: None,
            closed_at: None,
            closed_amount: None,
        };
        // `post` made the head; without one there is no shortfall and no lot to open.
        let Some(head) = self.loaded.heads.get_mut(&id) else {
            return Vec::new();
        };
        let mut opened = Vec::new();
        for (terms, amount) in pieces {
            let (covered, rest) = lots::cover(head.shortfall, amount);
            head.shortfall -= covered;
            if rest > Decimal::ZERO {
                opened.push(self.book.open(&template, &terms, rest));
            }
        }
        opened
    }
}

/// The terms of the lot a credit of `cmd` opens at `now`: its operation's rule, with what
/// the request set.
fn credit_terms(cmd: &Command, now: i64) -> Terms {
    let op = &cmd.operation;
    let rule = op.lot.clone().unwrap_or_default();
    let expires_after = rule
        .expires_after_seconds
        .and_then(|s| i64::try_from(s).ok())
        .map(|s| now.saturating_add(s.saturating_mul(1_000_000)));
    Terms {
        category: rule.category,
        priority: cmd.lot_terms.priority.unwrap_or(rule.priority),
        expires_at: cmd.lot_terms.expires_at.or(expires_after),
        counter_account: op.counter_account.clone().unwrap_or_default(),
    }
}

/// Appends the entry's two postings of `amount`: the owner's leg, then the other side's.
fn post(
    cmd: &Command,
    amount: Decimal,
    heads: &mut HashMap<Uuid, Head>,
    touched: &mut Touched<Uuid>,
    now: i64,
) -> Vec<posting::Model> {
    let owner_delta = match cmd.operation.direction {
        Direction::Credit => amount,
        Direction::Debit | Direction::Transfer => -amount,
    };
    let legs = [
        (cmd.owner_id.as_str(), owner_delta),
        (cmd.other_owner(), -owner_delta),
    ];
    post_legs(cmd, &legs, heads, touched, now)
}

/// Appends a posting per leg `(owner, delta)` of `cmd`'s asset, in order. The legs of an
/// entry sum to zero.
pub(super) fn post_legs(
    cmd: &Command,
    legs: &[(&str, Decimal)],
    heads: &mut HashMap<Uuid, Head>,
    touched: &mut Touched<Uuid>,
    now: i64,
) -> Vec<posting::Model> {
    let asset = &cmd.operation.asset;
    legs.iter()
        .map(|&(owner_id, delta)| {
            let id = account_id(cmd.app_id, owner_id, asset);
            touched.touch(&id);
            let head = heads
                .entry(id)
                .or_insert_with(|| Head::empty(cmd.app_id, owner_id, asset));
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
