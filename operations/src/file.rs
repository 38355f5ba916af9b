//! The catalog file format (TOML) and how a file's operations merge over existing ones.

use crate::amount::AmountRule;
use crate::lot::{LotRule, format_duration};
use crate::operation::{Direction, Limit, Operation, Window};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A catalog file as written. Every operation field is optional here so that an extension
/// can override single fields; [`crate::Catalog`] validates the merged result.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    #[serde(default)]
    pub assets: BTreeMap<String, RawAsset>,
    #[serde(default)]
    pub operations: BTreeMap<String, RawOperation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAsset {
    pub scale: u32,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOperation {
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub direction: Option<Direction>,
    pub counter_account: Option<String>,
    pub asset: Option<String>,
    pub amount: Option<RawAmount>,
    pub allow_zero: Option<bool>,
    pub overdraft: Option<bool>,
    pub cooldown_seconds: Option<u64>,
    pub limits: Option<Vec<RawLimit>>,
    pub lot: Option<RawLot>,
    pub holds: Option<bool>,
    pub max_hold_seconds: Option<u64>,
    pub reversible: Option<bool>,
    pub reversal_window_seconds: Option<u64>,
    pub reversal_overdraft: Option<bool>,
}

/// Amounts are strings in the file: a TOML float would round them.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAmount {
    pub fixed: Option<String>,
    pub min: Option<String>,
    pub max: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimit {
    pub window: Window,
    pub max_count: Option<u64>,
    pub max_amount: Option<String>,
}

/// A lot rule as written. Category and priority are wider than the rule's types so that a
/// bad value is refused by the catalog, which names the field, rather than by the parser.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLot {
    pub category: Option<String>,
    pub priority: Option<i64>,
    /// An ISO 8601 duration, e.g. "P30D".
    pub expires_after: Option<String>,
    pub request_expires_at: Option<bool>,
    pub request_priority: Option<bool>,
}

impl RawOperation {
    /// `self` with every field that `over` sets replaced by `over`'s value.
    pub fn merged_with(self, over: RawOperation) -> RawOperation {
        let direction = over.direction.or(self.direction);
        // A credit turned into a debit leaves its lot behind; keeping it would refuse an
        // extension for a `lot` it never wrote.
        let inherited_lot = self.lot.filter(|_| direction == Some(Direction::Credit));
        RawOperation {
            description: over.description.or(self.description),
            enabled: over.enabled.or(self.enabled),
            direction,
            counter_account: over.counter_account.or(self.counter_account),
            asset: over.asset.or(self.asset),
            amount: over.amount.or(self.amount),
            allow_zero: over.allow_zero.or(self.allow_zero),
            overdraft: over.overdraft.or(self.overdraft),
            cooldown_seconds: over.cooldown_seconds.or(self.cooldown_seconds),
            limits: over.limits.or(self.limits),
            lot: over.lot.or(inherited_lot),
            // Likewise a debit turned into anything else leaves its holds behind.
            holds: over
                .holds
                .or(self.holds.filter(|_| direction == Some(Direction::Debit))),
            max_hold_seconds: over.max_hold_seconds.or(self.max_hold_seconds),
            reversible: over.reversible.or(self.reversible),
            reversal_window_seconds: over
                .reversal_window_seconds
                .or(self.reversal_window_seconds),
            reversal_overdraft: over.reversal_overdraft.or(self.reversal_overdraft),
        }
    }
}

impl From<&Operation> for RawOperation {
    fn from(op: &Operation) -> Self {
        let amount = match &op.amount {
            AmountRule::Fixed(fixed) => RawAmount {
                fixed: Some(fixed.to_string()),
                ..RawAmount::default()
            },
            AmountRule::Range { min, max } => RawAmount {
                fixed: None,
                min: min.map(|m| m.to_string()),
                max: max.map(|m| m.to_string()),
            },
        };
        RawOperation {
            description: Some(op.description.clone()),
            enabled: Some(op.enabled),
            direction: Some(op.direction),
            counter_account: op.counter_account.clone(),
            asset: Some(op.asset.clone()),
            amount: Some(amount),
            allow_zero: Some(op.allow_zero),
            overdraft: Some(op.overdraft),
            cooldown_seconds: op.cooldown_seconds,
            limits: Some(op.limits.iter().map(RawLimit::from).collect()),
            lot: op.lot.as_ref().map(RawLot::from),
            holds: Some(op.holds),
            max_hold_seconds: Some(op.max_hold_seconds),
            reversible: Some(op.reversal.allowed),
            reversal_window_seconds: op.reversal.window_seconds,
            reversal_overdraft: Some(op.reversal.overdraft),
        }
    }
}

impl From<&Limit> for RawLimit {
    fn from(limit: &Limit) -> Self {
        RawLimit {
            window: limit.window,
            max_count: limit.max_count,
            max_amount: limit.max_amount.map(|m| m.to_string()),
        }
    }
}

impl From<&LotRule> for RawLot {
    fn from(rule: &LotRule) -> Self {
        RawLot {
            category: Some(rule.category.as_str().to_owned()),
            priority: Some(i64::from(rule.priority)),
            expires_after: rule.expires_after_seconds.map(format_duration),
            request_expires_at: Some(rule.request_expires_at),
            request_priority: Some(rule.request_priority),
        }
    }
}
