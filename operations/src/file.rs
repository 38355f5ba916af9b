//! The catalog file format (TOML) and how a file's operations merge over existing ones.

use crate::amount::AmountRule;
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

impl RawOperation {
    /// `self` with every field that `over` sets replaced by `over`'s value.
    pub fn merged_with(self, over: RawOperation) -> RawOperation {
        RawOperation {
            description: over.description.or(self.description),
            enabled: over.enabled.or(self.enabled),
            direction: over.direction.or(self.direction),
            counter_account: over.counter_account.or(self.counter_account),
            asset: over.asset.or(self.asset),
            amount: over.amount.or(self.amount),
            allow_zero: over.allow_zero.or(self.allow_zero),
            overdraft: over.overdraft.or(self.overdraft),
            cooldown_seconds: over.cooldown_seconds.or(self.cooldown_seconds),
            limits: over.limits.or(self.limits),
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
