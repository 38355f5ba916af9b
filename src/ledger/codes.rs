//! Every code a request can be refused with or an entry can fail with, declared once: its
//! stable string (the API's `code`, stored with failed entries) and its class. The class
//! says what happened (malformed, refused before anything was recorded, recorded as failed,
//! …); `api/problem.rs` turns a class into an HTTP status, in one place. Adding a code is
//! adding a line here; the compiler then asks every `match` to place it.

use operations::AmountError;
use std::fmt;

/// What a code means for the request that got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// The request is not well-formed. Nothing is recorded; the nonce stays unused.
    Malformed,
    /// No API key, or one that is unknown or revoked.
    Unauthenticated,
    /// No such resource for this app (another app's is as absent as a missing one).
    NotFound,
    /// The route has no such method.
    MethodNotAllowed,
    /// The request conflicts with the ledger's state: its nonce belongs to a different
    /// request, or the lot it acts on is closed. Where the ledger decided it, the entry is
    /// recorded as failed, and a retry with the same nonce gets the same answer.
    Conflict,
    /// The body is larger than the service takes.
    TooLarge,
    /// The request head (request line and headers) is larger than the service reads.
    HeadTooLarge,
    /// The body is not JSON.
    UnsupportedMediaType,
    /// Well-formed, but the app's catalog or the request's own rules refuse it. Nothing is
    /// recorded; the nonce stays unused.
    Refused,
    /// The entry passed its nonce check and was recorded as failed: the ledger's state at
    /// that moment refused it, and a retry with the same nonce gets the same answer.
    Failed,
    /// The app is over its rate limit; the same request may succeed after `Retry-After`.
    RateLimited,
    /// A dependency is down, contended or behind; the same request may succeed later.
    Unavailable,
}

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $text:literal, $class:ident;)*) => {
        /// A stable machine code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[$doc])* $name,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The code as the API and the event store spell it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $text,)*
                }
            }

            /// The code spelled `text` (as a failed entry stores it), if there is one.
            pub fn parse(text: &str) -> Option<Code> {
                Code::ALL.iter().copied().find(|c| c.as_str() == text)
            }

            pub fn class(self) -> Class {
                match self {
                    $(Code::$name => Class::$class,)*
                }
            }
        }
    };
}

codes! {
    // Request checks (`ledger::request`, `ledger::command`).
    /// An owner id, counterparty id or nonce is empty, too long, has control characters, or
    /// takes a system account's name.
    InvalidId = "invalid_id", Refused;
    /// The amount is not a decimal string.
    InvalidAmount = "invalid_amount", Malformed;
    /// Metadata is not a JSON object.
    InvalidMetadata = "invalid_metadata", Malformed;
    MetadataTooDeep = "metadata_too_deep", Refused;
    MetadataTooLarge = "metadata_too_large", Refused;
    UnknownOperation = "unknown_operation", Refused;
    OperationDisabled = "operation_disabled", Refused;
    CounterpartyRequired = "counterparty_required", Refused;
    InvalidCounterparty = "invalid_counterparty", Refused;
    CounterpartyNotAllowed = "counterparty_not_allowed", Refused;
    AmountRequired = "amount_required", Refused;
    AmountNotPositive = "amount_not_positive", Refused;
    AmountTooPrecise = "amount_too_precise", Refused;
    AmountOutOfRange = "amount_out_of_range", Refused;
    AmountFixedMismatch = "amount_fixed_mismatch", Refused;
    /// The request sets `expires_at` or `priority`, which its operation does not let it.
    LotTermNotAllowed = "lot_term_not_allowed", Refused;
    /// A lot's `expires_at` is not after the time the request arrived.
    ExpiryNotInFuture = "expiry_not_in_future", Refused;
    /// A lot's `priority` is outside 0–100.
    InvalidPriority = "invalid_priority", Refused;
    /// A void's `reason` is too long or has control characters.
    InvalidReason = "invalid_reason", Refused;
    /// The entry cannot be reversed: not completed, a reversal, the ledger's own, or its
    /// catalog forbids it (or its window has passed).
    NotReversible = "not_reversible", Refused;
    /// A hold names neither or both of `expires_in_seconds` and `expires_at`.
    HoldExpiryRequired = "hold_expiry_required", Refused;
    /// A hold would last longer than its operation's `max_hold_seconds`.
    HoldTooLong = "hold_too_long", Refused;
    /// The operation is not a debit, or its catalog forbids holds for it.
    HoldsNotAllowed = "holds_not_allowed", Refused;

    // The ledger's decisions (`ledger::decide`): recorded as failed entries.
    LimitExceeded = "limit_exceeded", Failed;
    InsufficientBalance = "insufficient_balance", Failed;
    /// The lot is spent, expired (recorded or not) or voided: nothing is left to void.
    LotClosed = "lot_closed", Conflict;
    NonceReused = "nonce_reused", Conflict;
    /// Reversals of an entry would take back more than it moved.
    ReversalExceedsOriginal = "reversal_exceeds_original", Conflict;
    /// The hold was captured, voided or expired already.
    HoldNotOpen = "hold_not_open", Conflict;
    /// The hold's expiry instant has come: it holds nothing any more.
    HoldExpired = "hold_expired", Conflict;
    /// A capture asks for more than the hold holds.
    AmountExceedsHold = "amount_exceeds_hold", Failed;
    /// A lot cannot be voided while open holds reserve part of it.
    LotReserved = "lot_reserved", Conflict;
    /// The owner's account is frozen: its debits and new holds are refused.
    AccountFrozen = "account_frozen", Failed;
    /// The account is closed: it takes nothing.
    AccountClosed = "account_closed", Failed;
    /// Closing needs a zero balance and no open hold.
    AccountNotEmpty = "account_not_empty", Failed;
    /// The account is already where the control would move it, or closed.
    AccountStatusConflict = "account_status_conflict", Conflict;

    // Webhooks (`webhooks`, `api/webhooks.rs`).
    /// A webhook's URL is not an absolute `http` or `https` URL, or its host does not
    /// resolve.
    InvalidWebhookUrl = "invalid_webhook_url", Refused;
    /// A webhook's URL names or resolves to an address the service does not send to
    /// (loopback, private, link-local, …) unless the operator allows it.
    WebhookUrlNotAllowed = "webhook_url_not_allowed", Refused;
    /// A webhook must name at least one event type.
    EventTypesRequired = "event_types_required", Refused;
    WebhookNotFound = "webhook_not_found", NotFound;
    /// The webhook has no delivery of that event.
    DeliveryNotFound = "delivery_not_found", NotFound;
    /// The webhook is disabled: re-enable it (`PATCH` with `state: active`) first.
    WebhookDisabled = "webhook_disabled", Conflict;

    // Reads and the HTTP layer.
    UnknownAsset = "unknown_asset", Refused;
    InvalidTime = "invalid_time", Malformed;
    InvalidLimit = "invalid_limit", Malformed;
    InvalidCursor = "invalid_cursor", Malformed;
    /// A filter or a webhook names an event type that does not exist.
    UnknownEventType = "unknown_event_type", Refused;
    /// A read asked for an account version the event store does not have: it cannot come.
    VersionNotFound = "version_not_found", Conflict;
    /// Anything else the HTTP layer finds wrong with a request (a body that is not the
    /// schema's, a missing field, a bad path parameter).
    InvalidRequest = "invalid_request", Malformed;
    Unauthorized = "unauthorized", Unauthenticated;
    NotFound = "not_found", NotFound;
    MethodNotAllowed = "method_not_allowed", MethodNotAllowed;
    PayloadTooLarge = "payload_too_large", TooLarge;
    RequestHeadTooLarge = "request_head_too_large", HeadTooLarge;
    UnsupportedMediaType = "unsupported_media_type", UnsupportedMediaType;

    // Retry later (with the same nonce, for entries).
    RateLimited = "rate_limited", RateLimited;
    StoreUnavailable = "store_unavailable", Unavailable;
    ReadModelBehind = "read_model_behind", Unavailable;
    ReadModelUnavailable = "read_model_unavailable", Unavailable;
    AppsUnavailable = "apps_unavailable", Unavailable;
    /// An error nothing else names; logged where it happens.
    Unavailable = "unavailable", Unavailable;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&AmountError> for Code {
    fn from(e: &AmountError) -> Code {
        match e {
            AmountError::Required => Code::AmountRequired,
            AmountError::NotPositive => Code::AmountNotPositive,
            AmountError::TooPrecise { .. } => Code::AmountTooPrecise,
            AmountError::BelowMinimum { .. } | AmountError::AboveMaximum { .. } => {
                Code::AmountOutOfRange
            }
            AmountError::FixedMismatch { .. } => Code::AmountFixedMismatch,
        }
    }
}

/// Why a request or an entry was turned down: a code, and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct Refusal {
    pub code: Code,
    pub detail: String,
}

impl Refusal {
    pub fn new(code: Code, detail: impl Into<String>) -> Refusal {
        Refusal {
            code,
            detail: detail.into(),
        }
    }
}

impl From<AmountError> for Refusal {
    fn from(e: AmountError) -> Refusal {
        Refusal::new(Code::from(&e), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_code_has_its_own_snake_case_string() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} is declared twice");
            assert!(
                !text.is_empty() && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{text} is not snake_case"
            );
        }
    }

    #[test]
    fn amount_errors_keep_their_codes() {
        use rust_decimal::Decimal;
        let cases = [
            (AmountError::Required, "amount_required"),
            (AmountError::NotPositive, "amount_not_positive"),
            (AmountError::TooPrecise { scale: 2 }, "amount_too_precise"),
            (
                AmountError::BelowMinimum { min: Decimal::ONE },
                "amount_out_of_range",
            ),
            (
                AmountError::AboveMaximum { max: Decimal::ONE },
                "amount_out_of_range",
            ),
            (
                AmountError::FixedMismatch {
                    fixed: Decimal::ONE,
                    requested: Decimal::TWO,
                },
                "amount_fixed_mismatch",
            ),
        ];
        for (error, code) in cases {
            assert_eq!(Refusal::from(error).code.as_str(), code);
        }
    }
}
