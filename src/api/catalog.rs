//! `GET /v1/operations`, and how an operation looks there.

use super::Ctx;
use super::auth::AppKey;
use super::problem::ApiProblem;
use operations::{AmountRule, Catalog, Operation, format_duration};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use std::sync::Arc;

pub struct CatalogApi {
    pub ctx: Arc<Ctx>,
}

#[OpenApi(tag = "super::Tag::Catalog")]
impl CatalogApi {
    /// List operations
    ///
    /// The app's effective catalog: the base operations, the service's extensions and the
    /// app's own, with overrides applied.
    #[oai(path = "/v1/operations", method = "get")]
    async fn operations(&self, auth: AppKey) -> Result<Json<Vec<OperationView>>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        Ok(Json(
            app.catalog
                .operations()
                .map(|op| OperationView::new(op, &app.catalog))
                .collect(),
        ))
    }
}

/// How an operation's amount is chosen.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AmountView {
    pub fixed: Option<String>,
    pub min: Option<String>,
    pub max: Option<String>,
}

/// A limit of an operation, per owner.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LimitView {
    /// `hour`, `day` (UTC) or `lifetime`.
    pub window: String,
    pub max_count: Option<u64>,
    pub max_amount: Option<String>,
}

/// An operation of the app's catalog.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OperationView {
    pub name: String,
    pub description: String,
    pub enabled: bool,
    /// `credit`, `debit` or `transfer`.
    pub direction: String,
    pub counter_account: Option<String>,
    pub asset: String,
    /// Decimal places of the asset.
    pub scale: u32,
    pub amount: AmountView,
    pub allow_zero: bool,
    pub overdraft: bool,
    pub cooldown_seconds: Option<u64>,
    pub limits: Vec<LimitView>,
    /// The lots a credit opens.
    pub lot: Option<LotRuleView>,
    /// Whether a hold may be placed with it (debits only), and for how long at most.
    pub holds: bool,
    pub max_hold_seconds: Option<u64>,
}

/// How a credit operation's lots look.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LotRuleView {
    /// `promotional` or `paid`.
    pub category: String,
    pub priority: u8,
    /// ISO 8601 duration from the credit to the lot's expiry, e.g. `P30D`.
    pub expires_after: Option<String>,
    /// Whether a request may set the lot's `expires_at`.
    pub request_expires_at: bool,
    /// Whether a request may set the lot's `priority`.
    pub request_priority: bool,
}

impl OperationView {
    pub fn new(op: &Operation, catalog: &Catalog) -> Self {
        let amount = match &op.amount {
            AmountRule::Fixed(f) => AmountView {
                fixed: Some(f.to_string()),
                min: None,
                max: None,
            },
            AmountRule::Range { min, max } => AmountView {
                fixed: None,
                min: min.map(|m| m.to_string()),
                max: max.map(|m| m.to_string()),
            },
        };
        OperationView {
            name: op.name.clone(),
            description: op.description.clone(),
            enabled: op.enabled,
            direction: op.direction.as_str().to_owned(),
            counter_account: op.counter_account.clone(),
            asset: op.asset.clone(),
            scale: catalog.asset(&op.asset).map_or(0, |a| a.scale),
            amount,
            allow_zero: op.allow_zero,
            overdraft: op.overdraft,
            cooldown_seconds: op.cooldown_seconds,
            limits: op
                .limits
                .iter()
                .map(|l| LimitView {
                    window: l.window.as_str().to_owned(),
                    max_count: l.max_count,
                    max_amount: l.max_amount.map(|m| m.to_string()),
                })
                .collect(),
            lot: op.lot.as_ref().map(|rule| LotRuleView {
                category: rule.category.as_str().to_owned(),
                priority: rule.priority,
                expires_after: rule.expires_after_seconds.map(format_duration),
                request_expires_at: rule.request_expires_at,
                request_priority: rule.request_priority,
            }),
            holds: op.holds,
            max_hold_seconds: op.holds.then_some(op.max_hold_seconds),
        }
    }
}
