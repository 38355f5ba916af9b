//! The lots and holds of a batch: the open lots and holds of the accounts its debits draw
//! from, as loaded, and every lot or hold the batch opens, changed as each command is
//! decided. The rules themselves are `ledger::lots` and `ledger::holds`; this applies them
//! and keeps the rows to write.
//!
//! Invariant kept here, per owner account: its lots' remaining (open lots, and what holds
//! keep of expired ones) less the head's shortfall equals the posted balance. A credit adds
//! to one side and the balance alike (covering the shortfall first); a debit takes from
//! lots what they cover and adds the rest to the shortfall; an expiry or void takes a lot's
//! remainder and posts it out; a hold only reserves, and what its end takes from lots it
//! posts out.

use super::Touched;
use crate::ledger::holds::{self, Hold, Share};
use crate::ledger::lots::{self, Allocation, Draw, Lot, Status};
use crate::ledger::state::EntryState;
use entity::{allocation, hold, lot};
use operations::Category;
use rust_decimal::Decimal;
use std::collections::HashMap;
use uuid::Uuid;

/// A lot to open: everything but its id, amount and bookkeeping.
#[derive(Debug, Clone)]
pub struct Terms {
    pub category: Category,
    pub priority: u8,
    pub expires_at: Option<i64>,
    pub counter_account: String,
}

/// The lots a batch has seen, by account, as the batch has changed them.
#[derive(Debug, Default)]
pub struct Book {
    by_account: HashMap<Uuid, Vec<Lot>>,
    rows: HashMap<Uuid, lot::Model>,
    touched: Touched<Uuid>,
    holds: HashMap<Uuid, (Hold, hold::Model)>,
    touched_holds: Touched<Uuid>,
    /// The batch's instant: what holds reserve is what they reserve then.
    now: i64,
}

impl Book {
    /// A book of the lots and holds loaded for the batch decided at `now`.
    pub fn new(loaded: Vec<(Lot, lot::Model)>, holds: Vec<(Hold, hold::Model)>, now: i64) -> Book {
        let mut book = Book {
            now,
            ..Book::default()
        };
        for (lot, row) in loaded {
            book.by_account.entry(row.account_id).or_default().push(lot);
            book.rows.insert(row.id, row);
        }
        for (hold, row) in holds {
            book.reserve_shares(&hold, Decimal::ONE);
            book.holds.insert(hold.id, (hold, row));
        }
        book
    }

    /// Adds (`sign` 1) or removes (-1) what `hold` reserves now to its lots' `reserved`: a
    /// hold reserves while it is open and before its expiry instant.
    fn reserve_shares(&mut self, hold: &Hold, sign: Decimal) {
        if !(hold.is_open() && self.now < hold.expires_at) {
            return;
        }
        for share in &hold.shares {
            if let Some(lot) = self.lot_mut(share.lot_id) {
                lot.reserved += sign * share.amount;
            }
        }
    }

    fn lot_mut(&mut self, id: Uuid) -> Option<&mut Lot> {
        let account = self.rows.get(&id)?.account_id;
        self.by_account
            .get_mut(&account)?
            .iter_mut()
            .find(|lot| lot.id == id)
    }

    /// Lot `id` and its row, if the batch has it (whatever its status).
    pub fn lot(&self, id: Uuid) -> Option<(&Lot, &lot::Model)> {
        let row = self.rows.get(&id)?;
        let lot = self
            .by_account
            .get(&row.account_id)?
            .iter()
            .find(|l| l.id == id)?;
        Some((lot, row))
    }

    /// Hold `id`, if the batch has it.
    pub fn hold(&self, id: Uuid) -> Option<&Hold> {
        self.holds.get(&id).map(|(hold, _)| hold)
    }

    /// What open holds that outlast lot `id`'s expiry keep of it: its expiry leaves that.
    pub fn kept(&self, id: Uuid) -> Decimal {
        let expires_at = self.rows.get(&id).and_then(|row| row.expires_at);
        holds::kept(id, expires_at, self.holds.values().map(|(h, _)| h))
    }

    /// What the open holds of `account` hold at the batch's instant.
    pub fn held(&self, account: Uuid) -> Decimal {
        self.holds
            .values()
            .filter(|(h, _)| h.account_id == account && h.holds_at(self.now))
            .map(|(h, _)| h.amount)
            .sum()
    }

    /// What the holds of `account` not closed yet hold, run out or not: the held part of
    /// the available balance as recorded.
    pub fn held_open(&self, account: Uuid) -> Decimal {
        self.holds
            .values()
            .filter(|(h, _)| h.account_id == account && h.is_open())
            .map(|(h, _)| h.amount)
            .sum()
    }

    /// Whether an open hold (running or run out) reserves part of lot `id`.
    pub fn is_reserved(&self, id: Uuid) -> bool {
        self.holds
            .values()
            .any(|(h, _)| h.is_open() && h.share_of(id) > Decimal::ZERO)
    }

    /// Reserves `amount` of `account`'s free lots in the drawdown order: the shares of a
    /// hold placed now. The caller checked that the free lots cover it.
    pub fn reserve(&mut self, account: Uuid, amount: Decimal) -> Vec<Share> {
        let now = self.now;
        let Some(lots) = self.by_account.get_mut(&account) else {
            return Vec::new();
        };
        let mut order: Vec<&mut Lot> = lots.iter_mut().filter(|l| l.is_open_at(now)).collect();
        order.sort_by_key(|l| l.drawdown_key());
        let mut left = amount;
        let mut shares = Vec::new();
        for lot in order {
            if left <= Decimal::ZERO {
                break;
            }
            let take = left.min(lot.free());
            lot.reserved += take;
            left -= take;
            shares.push(Share {
                lot_id: lot.id,
                amount: take,
                lot_expires_at: lot.expires_at,
            });
        }
        shares
    }

    /// Adds a hold placed by the batch (its shares reserved by [`Book::reserve`]).
    pub fn place(&mut self, hold: Hold, row: hold::Model) {
        self.touched_holds.touch(&hold.id);
        self.holds.insert(hold.id, (hold, row));
    }

    /// Ends open hold `id` as `status` (its row filled in by `close`): what it reserved is
    /// free again. Returns the row as the batch leaves it.
    pub fn end_hold(
        &mut self,
        id: Uuid,
        status: EntryState,
        close: impl FnOnce(&mut hold::Model),
    ) -> Option<hold::Model> {
        let (hold, mut row) = self.holds.remove(&id)?;
        self.reserve_shares(&hold, -Decimal::ONE);
        close(&mut row);
        row.status = status.as_str().to_owned();
        let hold = Hold {
            status,
            closed_at: row.closed_at,
            ..hold
        };
        self.touched_holds.touch(&id);
        self.holds.insert(id, (hold, row.clone()));
        Some(row)
    }

    /// What `account`'s open lots hold that counts at `at`.
    pub fn available(&self, account: Uuid, at: i64) -> Decimal {
        self.by_account
            .get(&account)
            .map_or(Decimal::ZERO, |lots| lots::available(lots, at))
    }

    /// The open lot `id`, if the batch has it.
    pub fn open_lot(&self, id: Uuid) -> Option<&Lot> {
        let row = self.rows.get(&id)?;
        self.by_account
            .get(&row.account_id)?
            .iter()
            .find(|lot| lot.id == id && row.status == Status::Open.as_str())
    }

    /// Opens a lot of `amount` on `terms`, its account, owner, entry and creation time
    /// taken from `template`; returns its row as opened.
    pub fn open(&mut self, template: &lot::Model, terms: &Terms, amount: Decimal) -> lot::Model {
        let id = Uuid::now_v7();
        let row = lot::Model {
            id,
            category: terms.category.as_str().to_owned(),
            priority: i32::from(terms.priority),
            expires_at: terms.expires_at,
            amount: amount.to_string(),
            counter_account: terms.counter_account.clone(),
            remaining: amount.to_string(),
            status: Status::Open.as_str().to_owned(),
            ..template.clone()
        };
        let lot = Lot {
            id,
            category: terms.category,
            priority: terms.priority,
            expires_at: terms.expires_at,
            created_at: row.created_at,
            amount,
            remaining: amount,
            reserved: Decimal::ZERO,
        };
        self.by_account.entry(row.account_id).or_default().push(lot);
        self.rows.insert(id, row.clone());
        self.touched.touch(&id);
        row
    }

    /// Draws `amount` from `account`'s lots at `at` in the drawdown order. Returns the draw
    /// and the terms of each lot drawn from (in the draw's order), which a transfer's
    /// receiver gets.
    pub fn draw(&mut self, account: Uuid, amount: Decimal, at: i64) -> (Draw, Vec<Terms>) {
        let lots = self.by_account.entry(account).or_default();
        let draw = lots::draw(lots, amount, at);
        let terms = draw
            .allocations
            .iter()
            .filter_map(|a| {
                let row = self.rows.get(&a.lot_id)?;
                let lot = lots.iter().find(|lot| lot.id == a.lot_id)?;
                Some(Terms {
                    category: lot.category,
                    priority: lot.priority,
                    expires_at: lot.expires_at,
                    counter_account: row.counter_account.clone(),
                })
            })
            .collect();
        (draw, terms)
    }

    /// Takes `amount` out of lot `id`, whatever holds reserve: the draw of an expiry or a
    /// void, or of a hold's end from its own shares.
    pub fn take(&mut self, id: Uuid, amount: Decimal) -> Option<Allocation> {
        let lot = self.lot_mut(id)?;
        // Subtracted, not zeroed, so that a zero keeps the amount's scale ("0.00").
        lot.remaining -= amount;
        Some(Allocation { lot_id: id, amount })
    }

    /// Writes `allocations`, made by `entry_id` of `operation` whose owner posting was
    /// recorded at `recorded_at`, into the lots' rows. Returns their allocation rows and
    /// the lots as the entry left them.
    pub fn settle(
        &mut self,
        entry_id: Uuid,
        operation: &str,
        allocations: &[Allocation],
        recorded_at: i64,
    ) -> (Vec<allocation::Model>, Vec<lot::Model>) {
        let mut rows = Vec::with_capacity(allocations.len());
        let mut left = Vec::with_capacity(allocations.len());
        for (seq, a) in allocations.iter().enumerate() {
            let Some(row) = self.rows.get_mut(&a.lot_id) else {
                continue;
            };
            let remaining = self
                .by_account
                .get(&row.account_id)
                .and_then(|lots| lots.iter().find(|lot| lot.id == a.lot_id))
                .map_or(Decimal::ZERO, |lot| lot.remaining);
            *row = lots::after_draw(row, entry_id, operation, a.amount, remaining, recorded_at);
            self.touched.touch(&a.lot_id);
            rows.push(allocation::Model {
                entry_id,
                seq: seq as i32,
                lot_id: a.lot_id,
                account_id: row.account_id,
                amount: a.amount.to_string(),
                remaining_after: row.remaining.clone(),
            });
            left.push(row.clone());
        }
        (rows, left)
    }

    /// The rows of every lot and hold the batch opened or changed, in the order first
    /// touched.
    pub fn into_rows(mut self) -> (Vec<lot::Model>, Vec<hold::Model>) {
        let lots = self
            .touched
            .order
            .iter()
            .filter_map(|id| self.rows.remove(id))
            .collect();
        let holds = self
            .touched_holds
            .order
            .iter()
            .filter_map(|id| self.holds.remove(id).map(|(_, row)| row))
            .collect();
        (lots, holds)
    }
}
