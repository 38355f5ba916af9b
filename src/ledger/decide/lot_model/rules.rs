//! The plain model of the lot rules, written from their statement (see the parent module):
//! what the batch decision's lots are held against.

use rust_decimal::Decimal;
use uuid::Uuid;

/// A lot as the model sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelLot {
    pub id: Uuid,
    pub owner: usize,
    pub paid: bool,
    pub priority: u8,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub remaining: Decimal,
    pub counter: String,
}

#[derive(Debug, Default)]
pub struct Model {
    pub lots: Vec<ModelLot>,
    pub shortfall: [Decimal; 2],
    pub balance: [Decimal; 2],
}

impl Model {
    pub fn counts(lot: &ModelLot, t: i64) -> bool {
        lot.remaining > Decimal::ZERO && lot.expires_at.is_none_or(|e| t < e)
    }

    /// The index of the lot `owner` draws from first at `t`.
    fn first(&self, owner: usize, t: i64) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (i, l) in self.lots.iter().enumerate() {
            if l.owner != owner || !Model::counts(l, t) {
                continue;
            }
            let Some(b) = best.map(|b| &self.lots[b]) else {
                best = Some(i);
                continue;
            };
            let before = if l.priority != b.priority {
                l.priority < b.priority
            } else if l.expires_at != b.expires_at {
                match (l.expires_at, b.expires_at) {
                    (Some(x), Some(y)) => x < y,
                    (Some(_), None) => true,
                    _ => false,
                }
            } else if l.paid != b.paid {
                !l.paid
            } else if l.created_at != b.created_at {
                l.created_at < b.created_at
            } else {
                l.id < b.id
            };
            if before {
                best = Some(i);
            }
        }
        best
    }

    /// Draws `amount` from `owner` at `t`: the allocations, and what no lot covered.
    pub fn draw(
        &mut self,
        owner: usize,
        amount: Decimal,
        t: i64,
    ) -> (Vec<(Uuid, Decimal)>, Decimal) {
        let mut left = amount;
        let mut drawn = Vec::new();
        while left > Decimal::ZERO {
            let Some(i) = self.first(owner, t) else { break };
            let take = left.min(self.lots[i].remaining);
            self.lots[i].remaining -= take;
            left -= take;
            drawn.push((self.lots[i].id, take));
        }
        self.balance[owner] -= amount;
        (drawn, left)
    }

    pub fn available(&self, owner: usize, t: i64) -> Decimal {
        let open: Decimal = self
            .lots
            .iter()
            .filter(|l| l.owner == owner && Model::counts(l, t))
            .map(|l| l.remaining)
            .sum();
        open - self.shortfall[owner]
    }
}
