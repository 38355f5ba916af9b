//! The lots of a batch: the open lots of the accounts its debits draw from, as loaded, and
//! every lot the batch opens, changed as each command is decided. The rules themselves are
//! `ledger::lots`; this applies them and keeps the rows to write.
//!
//! Invariant kept here, per owner account: the open lots' remaining less the head's
//! shortfall equals the posted balance. A credit adds to one side and the balance alike
//! (covering the shortfall first); a debit takes from lots what they cover and adds the
//! rest to the shortfall; an expiry or void takes a lot's remainder and posts it out.

use super::Touched;
use crate::ledger::lots::{self, Allocation, Draw, Lot, Status};
use entity::{allocation, lot};
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
}

impl Book {
    /// A book of the open lots loaded for the batch.
    pub fn new(loaded: Vec<(Lot, lot::Model)>) -> Book {
        let mut book = Book::default();
        for (lot, row) in loaded {
            book.by_account.entry(row.account_id).or_default().push(lot);
            book.rows.insert(row.id, row);
        }
        book
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

    /// Takes all of open lot `id` out of it: the draw of an expiry or a void.
    pub fn empty(&mut self, id: Uuid) -> Option<Allocation> {
        let account = self.rows.get(&id)?.account_id;
        let lot = self
            .by_account
            .get_mut(&account)?
            .iter_mut()
            .find(|lot| lot.id == id)?;
        let amount = lot.remaining;
        // Subtracted, not zeroed, so that the zero keeps the amount's scale ("0.00").
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

    /// The rows of every lot the batch opened or changed, in the order first touched.
    pub fn into_rows(mut self) -> Vec<lot::Model> {
        self.touched
            .order
            .iter()
            .filter_map(|id| self.rows.remove(id))
            .collect()
    }
}
