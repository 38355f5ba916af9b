//! Balance monitors: which side of its threshold an account's available balance is on, and
//! the event a move to the other side fires. The batch decision observes each monitored
//! account after every entry that changed it (`decide::announcing`), so a crossing is
//! decided in the transaction of the change that made it, never by a later scan.
//!
//! Invariant enforced here: a monitor fires only on a change of side, so `balance.low` and
//! `balance.recovered` alternate, starting with `balance.low` for an account that was at or
//! above the threshold when the monitor first saw it.
//!
//! What a monitor watches is the available balance as recorded: the posted balance less
//! what open holds hold. A lot's expiry or a hold's end moves it when the `EXPIRY` or
//! `HOLD_EXPIRY` entry is recorded (within the recorder's interval of the instant), and
//! that entry's transaction fires the event.

use super::app_events::EventType;
use crate::decimal::stored_decimal;
use entity::monitor;
use rust_decimal::Decimal;
use uuid::Uuid;

/// Which side of its threshold a monitor last saw the account on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// At or above `below`.
    Above,
    Below,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Above => "above",
            Side::Below => "below",
        }
    }

    fn parse(text: &str) -> Option<Side> {
        match text {
            "above" => Some(Side::Above),
            "below" => Some(Side::Below),
            _ => None,
        }
    }
}

/// A monitor as the ledger sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitor {
    pub id: Uuid,
    pub account_id: Uuid,
    pub below: Decimal,
    /// None until the first batch that sees the account.
    pub side: Option<Side>,
}

impl Monitor {
    /// The monitor of a stored row; a row that does not read back is corruption.
    pub fn from_row(row: &monitor::Model) -> Result<Monitor, String> {
        let corrupt = |what: String| format!("stored monitor {}: {what}", row.id);
        let side = match row.state.as_deref() {
            None => None,
            Some(text) => {
                Some(Side::parse(text).ok_or_else(|| corrupt(format!("state {text:?}")))?)
            }
        };
        Ok(Monitor {
            id: row.id,
            account_id: row.account_id,
            below: stored_decimal(&row.below).map_err(corrupt)?,
            side,
        })
    }

    /// Takes note of `available`: the event its change of side fires, if it changed. The
    /// first observation only sets the side.
    pub fn observe(&mut self, available: Decimal) -> Option<EventType> {
        let side = match available < self.below {
            true => Side::Below,
            false => Side::Above,
        };
        let before = self.side.replace(side)?;
        match (before, side) {
            (Side::Above, Side::Below) => Some(EventType::BalanceLow),
            (Side::Below, Side::Above) => Some(EventType::BalanceRecovered),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().expect("a decimal literal")
    }

    fn monitor(below: Decimal) -> Monitor {
        Monitor {
            id: Uuid::nil(),
            account_id: Uuid::nil(),
            below,
            side: None,
        }
    }

    #[test]
    fn crossing_down_and_up_fires_low_recovered_low_and_nothing_else() {
        let mut m = monitor(dec("50"));
        let fired: Vec<_> = [dec("100"), dec("40"), dec("30"), dec("60"), dec("45")]
            .into_iter()
            .filter_map(|available| m.observe(available))
            .collect();
        assert_eq!(
            fired,
            [
                EventType::BalanceLow,
                EventType::BalanceRecovered,
                EventType::BalanceLow
            ]
        );
    }

    #[test]
    fn the_threshold_itself_is_not_below() {
        let mut m = monitor(dec("50"));
        assert_eq!(m.observe(dec("50")), None);
        assert_eq!(m.observe(dec("49.99")), Some(EventType::BalanceLow));
        assert_eq!(m.observe(dec("50")), Some(EventType::BalanceRecovered));
    }

    #[test]
    fn a_monitor_first_seen_below_fires_only_when_it_recovers() {
        let mut m = monitor(dec("50"));
        assert_eq!(m.observe(dec("10")), None);
        assert_eq!(m.observe(dec("20")), None);
        assert_eq!(m.observe(dec("80")), Some(EventType::BalanceRecovered));
    }
}
