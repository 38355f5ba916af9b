//! What the workflow is asked to do, and what it answers. A [`Command`] holds only values
//! that passed their checks: [`Nonce`], [`OwnerId`] and [`Amount`] can only be made by
//! parsing, so code that holds one never checks it again.

use super::codes::{Code, Refusal};
use super::record::EntryRecord;
use super::state::EntryState;
use crate::decimal::stored_decimal;
use entity::{entry, entry_event};
use operations::{Operation, SYSTEM_ACCOUNT_PREFIX};
use rust_decimal::Decimal;
use std::fmt;
use std::sync::Arc;
use unicode_normalization::is_nfc;
use uuid::Uuid;

pub use account_ids::{account_id, owner_accounts};
pub use acts::{Control, HoldStep, Reversal};

/// Longest owner id, counterparty id and nonce, in characters (Unicode code points, as JSON
/// Schema's `maxLength` counts them).
pub const MAX_ID_LEN: usize = 128;

/// An id chosen by the app: 1 to [`MAX_ID_LEN`] characters, no control, invisible or
/// bidirectional-control characters, and in Unicode NFC, so that two ids that look alike
/// and normalize alike are one id, never two owners or two nonces.
fn check_id(field: &str, text: &str) -> Result<(), Refusal> {
    if text.is_empty() || text.chars().nth(MAX_ID_LEN).is_some() {
        return Err(Refusal::new(
            Code::InvalidId,
            format!("{field} must be 1 to {MAX_ID_LEN} characters long"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(Refusal::new(
            Code::InvalidId,
            format!("{field} must not contain control characters"),
        ));
    }
    if let Some(c) = text.chars().find(|&c| is_invisible(c)) {
        return Err(Refusal::new(
            Code::InvalidId,
            format!(
                "{field} must not contain U+{:04X}, an invisible or bidirectional-control character",
                u32::from(c)
            ),
        ));
    }
    if !is_nfc(text) {
        return Err(Refusal::new(
            Code::InvalidId,
            format!("{field} must be in Unicode normalization form C (NFC)"),
        ));
    }
    Ok(())
}

/// Characters that show nothing or reorder what is shown, as inclusive ranges: Unicode's
/// Default_Ignorable_Code_Point set (zero-width spaces and joiners, soft hyphen, variation
/// selectors, tags, …) and the bidirectional controls (which it includes, but for U+061C).
/// The OpenAPI document's id pattern is made from this list (`api::spec`).
pub const INVISIBLE: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

fn is_invisible(c: char) -> bool {
    let c = u32::from(c);
    INVISIBLE.iter().any(|&(from, to)| (from..=to).contains(&c))
}

/// A request's idempotency key, unique per app.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nonce(String);

impl Nonce {
    pub fn parse(text: String) -> Result<Nonce, Refusal> {
        check_id("nonce", &text)?;
        Ok(Nonce(text))
    }

    /// The nonce of the expiry of lot `id`: one per lot, so that however many recorders
    /// ask, the `(app, nonce)` index lets one expiry through. Apps cannot send nonces that
    /// start with `@` (`ledger::request`), so this one is the ledger's alone.
    pub fn of_expiry(id: Uuid) -> Nonce {
        Nonce(format!("@expiry:{id}"))
    }

    /// The nonce of the expiry of hold `id`: one per hold, as [`Nonce::of_expiry`] is per lot.
    pub fn of_hold_expiry(id: Uuid) -> Nonce {
        Nonce(format!("@hold-expiry:{id}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The owner of accounts, as the app names it. System accounts (`@system:…`) are owners
/// too; a request may not post for one (`ledger::request` refuses it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OwnerId(String);

impl OwnerId {
    /// `field` names the id in the refusal (`owner_id`, `counterparty_id`).
    pub fn parse(field: &str, text: String) -> Result<OwnerId, Refusal> {
        check_id(field, &text)?;
        Ok(OwnerId(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a system account: the counter account of operations, never an
    /// entry's owner or counterparty (the catalog takes only such names as counter accounts,
    /// and a request may not post for one).
    pub fn is_system(&self) -> bool {
        self.0.starts_with(SYSTEM_ACCOUNT_PREFIX)
    }
}

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An entry's amount: resolved by its operation's amount rule, positive (or zero where the
/// operation allows it), at its asset's scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(Decimal);

impl Amount {
    /// The grammar of an amount on the wire, as the OpenAPI schema states it; [`Amount::parse_text`]
    /// is that grammar.
    pub const PATTERN: &'static str = r"^-?[0-9]+(\.[0-9]+)?$";
    /// Longest amount text.
    pub const MAX_TEXT_LEN: usize = 40;

    /// Parses an amount string (`"12.50"`): optional minus, digits, optionally a point and
    /// digits; no exponent, no sign `+`, no spaces. Amounts are strings on the wire so that
    /// they never pass through a float. The sign is checked later, by the operation's rule.
    pub fn parse_text(text: &str) -> Result<Decimal, Refusal> {
        let bad = || {
            Refusal::new(
                Code::InvalidAmount,
                format!(
                    "amount must be a decimal string such as \"12.50\", at most 28 significant digits; got {:?}",
                    text.chars().take(40).collect::<String>()
                ),
            )
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let well_formed = text.len() <= Amount::MAX_TEXT_LEN
            && unsigned
                .split_once('.')
                .map_or(digits(unsigned), |(i, f)| digits(i) && digits(f));
        if !well_formed {
            return Err(bad());
        }
        Decimal::from_str_exact(text).map_err(|_| bad())
    }

    /// `requested` (if the request gave one) as `operation`'s rule resolves it at `scale`.
    pub fn resolve(
        operation: &Operation,
        requested: Option<Decimal>,
        scale: u32,
    ) -> Result<Amount, Refusal> {
        Ok(Amount(operation.resolve_amount(requested, scale)?))
    }

    /// What a lot holds, as the amount of the command that closes it.
    pub fn of_lot(remaining: Decimal) -> Amount {
        Amount(remaining)
    }

    pub fn get(self) -> Decimal {
        self.0
    }
}

/// A request that passed the stateless checks (operation known and enabled, amount fitting
/// the operation, owner and counterparty well-formed). Everything else is the workflow's.
#[derive(Debug, Clone)]
pub struct Command {
    pub entry_id: Uuid,
    pub app_id: Uuid,
    pub nonce: Nonce,
    /// SHA-256 of the canonical request; equal hashes mean the same request.
    pub request_hash: String,
    pub operation: Arc<Operation>,
    pub owner_id: OwnerId,
    pub counterparty_id: Option<OwnerId>,
    pub amount: Amount,
    /// Canonical JSON text.
    pub metadata: Option<String>,
    pub is_async: bool,
    pub received_at: i64,
    /// The entry row and its `received` event are already stored (an async entry that the
    /// workflow now finishes); its nonce is claimed by that row.
    pub stored: bool,
    /// The API key the request came with, when the workflow must still check it has not
    /// been revoked (the sync path checks it once per batch instead of once per request).
    pub key_id: Option<Uuid>,
    /// What the request set of the lot a credit opens, where its operation lets it.
    pub lot_terms: LotTerms,
    /// The lot an `EXPIRY` or `LOT_VOID` closes; such a command moves whatever the lot
    /// holds when it is decided, not `amount`.
    pub target_lot: Option<Uuid>,
    /// What the command does with a hold, if it is about one.
    pub hold: Option<HoldStep>,
    /// The change of the owner's account status, if the command is an account control.
    pub control: Option<Control>,
    /// The entry this command reverses, if it is a reversal.
    pub reversal: Option<Box<Reversal>>,
}

/// What a request set of the lot its credit opens; the rest comes from the operation's rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LotTerms {
    /// µs since the epoch.
    pub expires_at: Option<i64>,
    pub priority: Option<u8>,
}

impl Command {
    /// A sync command of `operation` for `owner_id` that is not an app's entry request: no
    /// counterparty, metadata, lot terms or key to check; its maker sets what it is about
    /// (a lot, a hold, a control, a reversal).
    pub fn of(
        (app_id, owner_id): (Uuid, OwnerId),
        (nonce, request_hash): (Nonce, String),
        operation: Operation,
        amount: Amount,
        received_at: i64,
    ) -> Command {
        Command {
            entry_id: Uuid::now_v7(),
            app_id,
            nonce,
            request_hash,
            operation: Arc::new(operation),
            owner_id,
            counterparty_id: None,
            amount,
            metadata: None,
            is_async: false,
            received_at,
            stored: false,
            key_id: None,
            lot_terms: LotTerms::default(),
            target_lot: None,
            hold: None,
            control: None,
            reversal: None,
        }
    }

    /// The entry row this command records; the same for the sync path, the async path and
    /// a resumed entry, so that every read of the entry shows the same thing.
    pub fn entry_row(&self) -> entry::Model {
        entry::Model {
            id: self.entry_id,
            app_id: self.app_id,
            nonce: self.nonce.as_str().to_owned(),
            request_hash: self.request_hash.clone(),
            operation: self.operation.name.clone(),
            owner_id: self.owner_id.as_str().to_owned(),
            counterparty_id: self.counterparty_id.as_ref().map(|c| c.as_str().to_owned()),
            asset: self.operation.asset.clone(),
            amount: self.amount.get().to_string(),
            metadata: self.metadata.clone(),
            is_async: self.is_async,
            created_at: self.received_at,
            lot_expires_at: self.lot_terms.expires_at,
            lot_priority: self.lot_terms.priority.map(i32::from),
            hold_id: self.hold.and_then(HoldStep::target),
            reverses: self.reversal.as_ref().map(|r| r.original),
            state: None,
            events: None,
        }
    }

    /// The record of this command's entry as an async request first stores it: the entry
    /// row and its `received` transition.
    pub fn received_record(&self) -> EntryRecord {
        let received = entry_event::Model {
            entry_id: self.entry_id,
            seq: 0,
            state: EntryState::Received.as_str().to_owned(),
            at: self.received_at,
            failure_code: None,
            failure_detail: None,
            earlier: None,
        };
        EntryRecord::new(self.entry_row(), vec![received])
    }

    /// Whether the command's entry counts toward its operation's limits and cooldown: a
    /// hold counts when it is captured, not when it is placed, voided or runs out.
    pub fn counts_usage(&self) -> bool {
        matches!(self.hold, None | Some(HoldStep::Capture(_)))
    }

    /// The account on the other side of the owner's: the operation's counter-account, or the
    /// counterparty of a transfer.
    pub fn other_owner(&self) -> &str {
        self.operation
            .counter_account
            .as_deref()
            .or(self.counterparty_id.as_ref().map(OwnerId::as_str))
            .unwrap_or_default()
    }

    /// The command that finishes a stored async entry, from its row and its operation. The
    /// row's values were checked when it was stored; one that no longer parses is corrupt.
    pub fn resume(row: entry::Model, operation: Operation) -> Result<Command, String> {
        let corrupt = |r: Refusal| format!("stored entry {}: {r}", row.id);
        let amount = Amount(stored_decimal(&row.amount)?);
        let priority =
            match row.lot_priority {
                Some(p) => Some(u8::try_from(p).map_err(|_| {
                    format!("stored entry {}: lot priority {p} out of range", row.id)
                })?),
                None => None,
            };
        let lot_terms = LotTerms {
            expires_at: row.lot_expires_at,
            priority,
        };
        Ok(Command {
            entry_id: row.id,
            app_id: row.app_id,
            nonce: Nonce::parse(row.nonce.clone()).map_err(corrupt)?,
            request_hash: row.request_hash.clone(),
            owner_id: OwnerId::parse("owner_id", row.owner_id.clone()).map_err(corrupt)?,
            counterparty_id: match row.counterparty_id.clone() {
                Some(c) => Some(OwnerId::parse("counterparty_id", c).map_err(corrupt)?),
                None => None,
            },
            operation: Arc::new(operation),
            amount,
            metadata: row.metadata,
            is_async: row.is_async,
            received_at: row.created_at,
            stored: true,
            key_id: None,
            lot_terms,
            target_lot: None,
            hold: None,
            control: None,
            reversal: None,
        })
    }
}

/// What the batch decision did with one command.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Recorded now, completed or failed.
    Recorded(Box<EntryRecord>),
    /// The nonce belongs to an earlier entry of this same request: answer with that entry.
    Replay(Uuid),
    /// The nonce belongs to an earlier entry of a different request.
    NonceReused(Uuid),
    /// An expiry asked for before its instant (a clock behind the recorder's): nothing is
    /// recorded and its nonce stays free for when it is due.
    NotDue,
    /// The API key the command was sent with is revoked: nothing is recorded.
    KeyRevoked,
}

mod account_ids;
mod acts;
#[cfg(test)]
mod tests;
