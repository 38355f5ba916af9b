//! What a reversal does: how much it may take back, and where the value goes (the rules
//! are `ledger::reversal`; the lots are the batch's book).
//!
//! Invariants enforced here:
//! - **Reversals never exceed the original**: what an entry's reversals take back sums to at
//!   most its amount, checked against the bookkeeping row loaded in the batch's
//!   transaction, so concurrent reversals of one entry serialize on it.
//! - **No overdraw by a reversal**: taking a credit back takes it out of the lot it opened,
//!   which must still hold it free of holds, unless the operation lets reversals overdraw.
//! - **An expired credit stays expired**: a share given back to a lot that expired since
//!   moves to `@system:expired` in the same entry.

use super::Deciding;
use super::book::Terms;
use super::controls::sides;
use super::effects::{Effects, post_legs};
use crate::decimal::stored_decimal;
use crate::ledger::codes::{Code, Refusal};
use crate::ledger::command::Reversal;
use crate::ledger::command::{Command, account_id};
use crate::ledger::lots::{Allocation, Status};
use entity::reversal;
use operations::{Category, DEFAULT_PRIORITY, Direction, EXPIRED_ACCOUNT};
use rust_decimal::Decimal;
use uuid::Uuid;

impl Deciding {
    /// What has been reversed of `original` so far.
    fn reversed(&self, original: Uuid) -> Decimal {
        self.loaded
            .reversed
            .get(&original)
            .and_then(|r| stored_decimal(&r.reversed).ok())
            .unwrap_or(Decimal::ZERO)
    }

    /// What `reversal` takes back: what it asks for, or all that is left.
    pub(super) fn reversal_amount(&self, reversal: &Reversal) -> Result<Decimal, Refusal> {
        let done = self.reversed(reversal.original);
        let left = reversal.amount - done;
        let amount = reversal.requested.unwrap_or(left);
        if left <= Decimal::ZERO || amount > left {
            return Err(Refusal::new(
                Code::ReversalExceedsOriginal,
                format!(
                    "entry {} moved {}, {done} of it reversed already; {amount} more would exceed it",
                    reversal.original, reversal.amount
                ),
            ));
        }
        Ok(amount)
    }

    /// What the lots `ids` hold free of holds now (none of a lot that no longer counts).
    fn free_of(&self, ids: &[Uuid]) -> Decimal {
        ids.iter()
            .filter_map(|id| self.book.lot(*id))
            .filter(|(lot, row)| lot.counts_at(self.now) && row.status == Status::Open.as_str())
            .map(|(lot, _)| lot.free())
            .sum()
    }

    /// Why `reversal` of `amount` cannot go through, if it cannot: what it takes out of the
    /// lots a credit or a transfer opened must still be there.
    pub(super) fn check_reversal(
        &self,
        cmd: &Command,
        reversal: &Reversal,
        amount: Decimal,
    ) -> Option<Refusal> {
        if reversal.direction == Direction::Debit || reversal.overdraft {
            return None;
        }
        let free = self.free_of(&reversal.opened);
        // A credit's owner, or a transfer's receiver, gives it back.
        let (holder, _) = sides(cmd);
        (free < amount).then(|| {
            Refusal::new(
                Code::InsufficientBalance,
                format!(
                    "{holder} holds {free} of what entry {} gave; taking back {amount} needs it all",
                    reversal.original
                ),
            )
        })
    }

    /// Reverses `amount` of `reversal.original`.
    pub(super) fn apply_reversal(
        &mut self,
        cmd: &Command,
        reversal: &Reversal,
        amount: Decimal,
    ) -> Effects {
        let owner = cmd.owner_id.as_str();
        let done = self.reversed(reversal.original);
        let mut legs: Vec<(&str, Decimal)> = Vec::new();
        let mut draws = Vec::new();
        let mut pieces = Vec::new();
        let mut dead = Decimal::ZERO;
        match (reversal.direction, &cmd.counterparty_id) {
            (Direction::Credit, _) => {
                legs.extend([(owner, -amount), (cmd.other_owner(), amount)]);
                draws = self.take_back(cmd, owner, &reversal.opened, amount);
            }
            (_, receiver) => {
                legs.extend([(owner, amount), (cmd.other_owner(), -amount)]);
                if let Some(receiver) = receiver {
                    draws = self.take_back(cmd, receiver.as_str(), &reversal.opened, amount);
                }
                let (uncovered, back) = reversal.returns(done, amount);
                if uncovered > Decimal::ZERO {
                    pieces.push((paid_terms(cmd), uncovered));
                }
                for a in back {
                    match self.give_back(&a) {
                        Back::Restored => draws.push(Allocation {
                            lot_id: a.lot_id,
                            amount: -a.amount,
                        }),
                        Back::Dead => dead += a.amount,
                        Back::Reopened(terms) => pieces.push((terms, a.amount)),
                    }
                }
            }
        }
        if dead > Decimal::ZERO {
            legs.extend([(owner, -dead), (EXPIRED_ACCOUNT, dead)]);
        }
        let now = self.now;
        let postings = post_legs(cmd, &legs, &mut self.loaded.heads, &mut self.heads, now);
        let recorded_at = postings.first().map_or(now, |p| p.recorded_at);
        for a in &draws {
            self.book.take(a.lot_id, a.amount);
        }
        let (allocations, mut lots) =
            self.book
                .settle(cmd.entry_id, &cmd.operation.name, &draws, recorded_at);
        lots.extend(self.credit(cmd, owner, pieces));
        Effects {
            postings,
            lots,
            allocations,
            holds: Vec::new(),
            reversals: vec![self.count_reversal(cmd, reversal.original, amount)],
        }
    }

    /// Takes `amount` back out of the lots `opened` of `holder`, last opened first; what they
    /// do not hold (an operation whose reversals may overdraw) becomes its shortfall.
    fn take_back(
        &mut self,
        cmd: &Command,
        holder: &str,
        opened: &[Uuid],
        amount: Decimal,
    ) -> Vec<Allocation> {
        let mut left = amount;
        let mut draws = Vec::new();
        for id in opened.iter().rev() {
            let take = self.free_of(&[*id]).min(left);
            if take > Decimal::ZERO {
                left -= take;
                draws.push(Allocation {
                    lot_id: *id,
                    amount: take,
                });
            }
        }
        let account = account_id(cmd.app_id, holder, &cmd.operation.asset);
        if let Some(head) = self.loaded.heads.get_mut(&account) {
            head.shortfall += left;
        }
        draws
    }

    /// Where a share given back to lot `a.lot_id` goes.
    fn give_back(&self, a: &Allocation) -> Back {
        let Some((lot, row)) = self.book.lot(a.lot_id) else {
            return Back::Dead;
        };
        let voided = row.status == Status::Voided.as_str();
        if row.status == Status::Expired.as_str() || !lot.counts_at(self.now) {
            return Back::Dead;
        }
        if voided {
            return Back::Reopened(Terms {
                category: lot.category,
                priority: lot.priority,
                expires_at: lot.expires_at,
                counter_account: row.counter_account.clone(),
            });
        }
        Back::Restored
    }

    /// Counts `amount` of entry `original` reversed by `cmd`; returns the row as it leaves it.
    fn count_reversal(
        &mut self,
        cmd: &Command,
        original: Uuid,
        amount: Decimal,
    ) -> reversal::Model {
        let row = self
            .loaded
            .reversed
            .entry(original)
            .or_insert_with(|| reversal::Model {
                entry_id: original,
                app_id: cmd.app_id,
                reversed: "0".to_owned(),
                count: 0,
                reversal_ids: "[]".to_owned(),
            });
        let done = stored_decimal(&row.reversed).unwrap_or(Decimal::ZERO);
        let mut ids: Vec<Uuid> = serde_json::from_str(&row.reversal_ids).unwrap_or_default();
        ids.push(cmd.entry_id);
        row.reversed = (done + amount).to_string();
        row.count += 1;
        row.reversal_ids = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_owned());
        self.reversals.touch(&original);
        row.clone()
    }
}

/// Where a share a reversal gives back goes.
enum Back {
    /// Into its lot again.
    Restored,
    /// Its lot expired since: the share expires at once.
    Dead,
    /// Its lot was voided since: a lot of the same terms opens for it.
    Reopened(Terms),
}

/// The terms of the lot that what a debit overdrew opens when it comes back: paid, never
/// expiring, returned by a void to the debit's other side.
fn paid_terms(cmd: &Command) -> Terms {
    Terms {
        category: Category::Paid,
        priority: DEFAULT_PRIORITY,
        expires_at: None,
        counter_account: cmd.other_owner().to_owned(),
    }
}

#[cfg(test)]
mod tests;
