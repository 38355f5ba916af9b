//! The catalog: assets and operations, layered from files or built in Rust, validated on
//! every change so that an invalid catalog never exists.

use crate::SYSTEM_ACCOUNT_PREFIX;
use crate::amount::AmountRule;
use crate::file::{RawAmount, RawFile, RawLot, RawOperation};
use crate::lot::{Category, LotRule, PRIORITIES, parse_duration};
use crate::operation::{DEFAULT_MAX_HOLD_SECONDS, Direction, Limit, Operation, ReversalRule};
use crate::system::is_system_name;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

/// The most decimal places an asset may have.
pub const MAX_SCALE: u32 = 18;

/// An asset (a kind of credit) and its number of decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    pub scale: u32,
}

/// A catalog that did not load, naming where: the file, the operation and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {}{}{message}",
    operation.as_ref().map(|o| format!("operation {o}: ")).unwrap_or_default(),
    field.as_ref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
pub struct CatalogError {
    /// The file (or other source) being loaded.
    pub source_name: String,
    pub operation: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

/// The operations an app may post, and the assets they use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    assets: BTreeMap<String, Asset>,
    operations: BTreeMap<String, Operation>,
}

impl Catalog {
    /// The base catalog (`catalog/base.toml`).
    pub fn base() -> Catalog {
        let mut catalog = Catalog::default();
        catalog
            .extend_from_toml("base.toml", crate::BASE_CATALOG)
            .expect("the base catalog is valid: the crate's tests load it");
        catalog
    }

    /// Reads a catalog file and layers it over this catalog.
    pub fn extend_from_file(&mut self, path: &Path) -> Result<(), CatalogError> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CatalogError {
            source_name: source.clone(),
            operation: None,
            field: None,
            message: format!("cannot read the file: {e}"),
        })?;
        self.extend_from_toml(&source, &text)
    }

    /// Layers a catalog file's text over this catalog: new assets and operations are added,
    /// fields of existing operations are overridden. On error nothing changes.
    pub fn extend_from_toml(&mut self, source: &str, text: &str) -> Result<(), CatalogError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| CatalogError {
            source_name: source.to_owned(),
            operation: None,
            field: None,
            message: e.to_string().trim_end().to_owned(),
        })?;
        let mut next = self.clone();
        for (name, asset) in raw.assets {
            let error = |message: String| CatalogError {
                source_name: source.to_owned(),
                operation: None,
                field: Some(format!("assets.{name}.scale")),
                message,
            };
            if asset.scale > MAX_SCALE {
                return Err(error(format!("at most {MAX_SCALE} decimal places")));
            }
            if let Some(old) = next
                .assets
                .get(&name)
                .filter(|old| old.scale != asset.scale)
            {
                // Stored amounts were rounded to the old scale; changing it rewrites history.
                return Err(error(format!(
                    "asset {name} already has scale {}; a scale never changes",
                    old.scale
                )));
            }
            next.assets.insert(name, Asset { scale: asset.scale });
        }
        for (name, over) in raw.operations {
            let merged = match next.operations.get(&name) {
                Some(existing) => RawOperation::from(existing).merged_with(over),
                None => over,
            };
            let op = next.validate(source, &name, merged)?;
            next.operations.insert(name, op);
        }
        *self = next;
        Ok(())
    }

    /// Adds or replaces an operation built in Rust, after the same checks a file gets.
    pub fn insert(&mut self, op: Operation) -> Result<(), CatalogError> {
        let name = op.name.clone();
        let op = self.validate("rust", &name, RawOperation::from(&op))?;
        self.operations.insert(name, op);
        Ok(())
    }

    /// Adds an asset; an existing asset keeps its scale.
    pub fn insert_asset(&mut self, name: &str, asset: Asset) -> Result<(), CatalogError> {
        let text = format!("[assets.{name}]\nscale = {}\n", asset.scale);
        self.extend_from_toml("rust", &text)
    }

    pub fn get(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }

    pub fn asset(&self, name: &str) -> Option<Asset> {
        self.assets.get(name).copied()
    }

    /// Every operation, by name.
    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.operations.values()
    }

    fn validate(
        &self,
        source: &str,
        name: &str,
        raw: RawOperation,
    ) -> Result<Operation, CatalogError> {
        let error = |field: &str, message: &str| CatalogError {
            source_name: source.to_owned(),
            operation: Some(name.to_owned()),
            field: (!field.is_empty()).then(|| field.to_owned()),
            message: message.to_owned(),
        };
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_uppercase())
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !name_ok {
            return Err(error(
                "",
                "a name is 1 to 64 of A-Z, 0-9 and _, starting with a letter",
            ));
        }
        if is_system_name(name) {
            return Err(error(
                "",
                &format!("{name} is recorded by the ledger itself; an app cannot declare it"),
            ));
        }
        let direction = raw
            .direction
            .ok_or_else(|| error("direction", "missing: credit, debit or transfer"))?;
        let asset_name = raw.asset.ok_or_else(|| error("asset", "missing"))?;
        let asset = self
            .asset(&asset_name)
            .ok_or_else(|| error("asset", &format!("unknown asset {asset_name}")))?;
        let counter_account = match (direction, raw.counter_account) {
            (Direction::Transfer, Some(_)) => {
                return Err(error(
                    "counter_account",
                    "a transfer pays the request's counterparty; it has no counter_account",
                ));
            }
            (Direction::Transfer, None) => None,
            (_, None) => {
                return Err(error(
                    "counter_account",
                    "missing, e.g. \"@system:rewards\"",
                ));
            }
            (_, Some(account)) => {
                if !account.starts_with(SYSTEM_ACCOUNT_PREFIX) || account.len() > 128 {
                    return Err(error(
                        "counter_account",
                        "must start with @ (a system account) and be at most 128 bytes",
                    ));
                }
                Some(account)
            }
        };
        let allow_zero = raw.allow_zero.unwrap_or(false);
        let amount = amount_rule(raw.amount, asset.scale, allow_zero)
            .map_err(|(field, message)| error(&field, &message))?;
        let mut limits = Vec::new();
        for (i, limit) in raw.limits.unwrap_or_default().into_iter().enumerate() {
            let field = format!("limits[{i}]");
            let max_amount = match limit.max_amount {
                Some(text) => Some(
                    decimal(&text, asset.scale)
                        .map_err(|m| error(&format!("{field}.max_amount"), &m))?,
                ),
                None => None,
            };
            if limit.max_count.is_none() && max_amount.is_none() {
                return Err(error(&field, "a limit needs max_count, max_amount or both"));
            }
            limits.push(Limit {
                window: limit.window,
                max_count: limit.max_count,
                max_amount,
            });
        }
        if raw.cooldown_seconds == Some(0) {
            return Err(error("cooldown_seconds", "must be at least 1 when set"));
        }
        let lot =
            lot_rule(raw.lot, direction).map_err(|(field, message)| error(field, &message))?;
        if raw.holds == Some(true) && direction != Direction::Debit {
            return Err(error("holds", "only debit operations place holds"));
        }
        if raw.max_hold_seconds == Some(0) {
            return Err(error("max_hold_seconds", "must be at least 1 when set"));
        }
        if raw.reversal_window_seconds == Some(0) {
            return Err(error(
                "reversal_window_seconds",
                "must be at least 1 when set (reversible = false forbids reversals)",
            ));
        }
        Ok(Operation {
            name: name.to_owned(),
            description: raw.description.unwrap_or_default(),
            enabled: raw.enabled.unwrap_or(true),
            direction,
            counter_account,
            asset: asset_name,
            amount,
            allow_zero,
            overdraft: raw.overdraft.unwrap_or(false),
            cooldown_seconds: raw.cooldown_seconds,
            limits,
            lot,
            // A debit places holds unless its catalog says not to.
            holds: direction == Direction::Debit && raw.holds.unwrap_or(true),
            max_hold_seconds: raw.max_hold_seconds.unwrap_or(DEFAULT_MAX_HOLD_SECONDS),
            reversal: ReversalRule {
                allowed: raw.reversible.unwrap_or(true),
                window_seconds: raw.reversal_window_seconds,
                overdraft: raw.reversal_overdraft.unwrap_or(false),
            },
        })
    }
}

/// The lot rule of a raw operation: the default one for a credit that declares none, none
/// for other directions. Or the failing field and why.
fn lot_rule(
    raw: Option<RawLot>,
    direction: Direction,
) -> Result<Option<LotRule>, (&'static str, String)> {
    if direction != Direction::Credit {
        return match raw {
            Some(_) => Err((
                "lot",
                "only credit operations open lots; a transfer's receiver gets lots like the \
                 ones it drew from"
                    .to_owned(),
            )),
            None => Ok(None),
        };
    }
    let raw = raw.unwrap_or_default();
    let default = LotRule::default();
    let category = match raw.category {
        Some(text) => text.parse::<Category>().map_err(|m| ("lot.category", m))?,
        None => default.category,
    };
    let priority = match raw.priority {
        Some(p) => u8::try_from(p)
            .ok()
            .filter(|p| PRIORITIES.contains(p))
            .ok_or_else(|| {
                (
                    "lot.priority",
                    format!(
                        "{p} is outside {}..={}; lower is spent first",
                        PRIORITIES.start(),
                        PRIORITIES.end()
                    ),
                )
            })?,
        None => default.priority,
    };
    let expires_after_seconds = raw
        .expires_after
        .map(|text| parse_duration(&text))
        .transpose()
        .map_err(|m| ("lot.expires_after", m))?;
    Ok(Some(LotRule {
        category,
        priority,
        expires_after_seconds,
        request_expires_at: raw.request_expires_at.unwrap_or(default.request_expires_at),
        request_priority: raw.request_priority.unwrap_or(default.request_priority),
    }))
}

/// The amount rule of a raw operation, or the failing field and why.
fn amount_rule(
    raw: Option<RawAmount>,
    scale: u32,
    allow_zero: bool,
) -> Result<AmountRule, (String, String)> {
    let raw = raw.ok_or_else(|| {
        (
            "amount".to_owned(),
            "missing: { fixed = \"…\" } or { min = \"…\", max = \"…\" }".to_owned(),
        )
    })?;
    let parse = |field: &str, text: Option<String>| -> Result<Option<Decimal>, (String, String)> {
        text.map(|t| decimal(&t, scale).map_err(|m| (format!("amount.{field}"), m)))
            .transpose()
    };
    let fixed = parse("fixed", raw.fixed)?;
    let min = parse("min", raw.min)?;
    let max = parse("max", raw.max)?;
    match (fixed, min, max) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err((
            "amount".to_owned(),
            "either fixed, or min and max; not both".to_owned(),
        )),
        (Some(fixed), None, None) if fixed.is_zero() && !allow_zero => Err((
            "amount.fixed".to_owned(),
            "must be greater than zero (or set allow_zero = true)".to_owned(),
        )),
        (Some(fixed), None, None) => Ok(AmountRule::Fixed(fixed)),
        (None, Some(min), Some(max)) if min > max => Err((
            "amount.min".to_owned(),
            format!("{min} is above amount.max {max}"),
        )),
        (None, min, max) => Ok(AmountRule::Range { min, max }),
    }
}

/// A non-negative decimal string with at most `scale` decimal places.
fn decimal(text: &str, scale: u32) -> Result<Decimal, String> {
    let value = Decimal::from_str(text.trim()).map_err(|_| format!("{text:?} is not a decimal"))?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(format!("{text} is negative"));
    }
    if value.normalize().scale() > scale {
        return Err(format!("{text} has more than {scale} decimal places"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests;
