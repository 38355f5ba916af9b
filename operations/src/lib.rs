//! The ledgerflow operation catalog.
//!
//! An *operation* (DAILY_REWARD, CREDIT_SPEND, …) says how an entry moves money: which way,
//! against which counter-account, in which asset, how the amount is chosen, whether the owner
//! may go below zero, which limits hold, and, for a credit, what lot it opens ([`LotRule`]).
//! A [`Catalog`] is the set of operations one app may post: the base catalog
//! ([`Catalog::base`]) layered with extension files or with operations built in Rust. The
//! ledger's own operations ([`EXPIRY`], [`LOT_VOID`]) are never in a catalog.
//!
//! Extending in Rust:
//!
//! ```
//! use operations::{AmountRule, Catalog, Category, Direction, Limit, LotRule, Operation, Window};
//! use rust_decimal::Decimal;
//!
//! let mut catalog = Catalog::base();
//! catalog
//!     .insert(Operation {
//!         name: "QUIZ_PRIZE".into(),
//!         description: "Five credits for a won quiz, at most three a day.".into(),
//!         enabled: true,
//!         direction: Direction::Credit,
//!         counter_account: Some("@system:quiz".into()),
//!         asset: "CREDIT".into(),
//!         amount: AmountRule::Fixed(Decimal::new(5, 0)),
//!         allow_zero: false,
//!         overdraft: false,
//!         cooldown_seconds: None,
//!         limits: vec![Limit { window: Window::Day, max_count: Some(3), max_amount: None }],
//!         lot: Some(LotRule {
//!             category: Category::Promotional,
//!             expires_after_seconds: Some(7 * 24 * 3600),
//!             ..LotRule::default()
//!         }),
//!         holds: false,
//!         max_hold_seconds: operations::DEFAULT_MAX_HOLD_SECONDS,
//!         reversal: operations::ReversalRule::default(),
//!     })
//!     .expect("a valid operation");
//! assert!(catalog.get("QUIZ_PRIZE").is_some());
//! ```
//!
//! Extending with a file (the format of `catalog/base.toml`):
//!
//! ```
//! use operations::Catalog;
//!
//! let mut catalog = Catalog::base();
//! catalog
//!     .extend_from_toml("content-app.toml", r#"
//!         [operations.CONTENT_CREATION]
//!         direction = "debit"
//!         counter_account = "@system:content"
//!         asset = "CREDIT"
//!         amount = { fixed = "5" }
//!     "#)
//!     .expect("a valid extension");
//! assert_eq!(catalog.get("CONTENT_CREATION").unwrap().asset, "CREDIT");
//! ```

mod amount;
mod catalog;
mod file;
mod lot;
mod operation;
mod system;

pub use amount::{AmountError, AmountRule};
pub use catalog::{Asset, Catalog, CatalogError, MAX_SCALE};
pub use lot::{Category, DEFAULT_PRIORITY, LotRule, PRIORITIES, format_duration, parse_duration};
pub use operation::{DEFAULT_MAX_HOLD_SECONDS, Direction, Limit, Operation, ReversalRule, Window};
pub use system::{
    ACCOUNT_CLOSE, ACCOUNT_FREEZE, ACCOUNT_UNFREEZE, EXPIRED_ACCOUNT, EXPIRY, HOLD_EXPIRY,
    HOLD_VOID, LOT_VOID, REVERSAL,
};

/// The base catalog file, compiled into the binary.
pub const BASE_CATALOG: &str = include_str!("../catalog/base.toml");

/// Account names that start with this character belong to the ledger itself (counter-accounts
/// such as `@system:rewards`); owners can never use them.
pub const SYSTEM_ACCOUNT_PREFIX: char = '@';
