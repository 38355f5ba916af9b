//! The JSON shapes of the API. Amounts are decimal strings at the asset's scale. An absent
//! optional field is left out of a response, not sent as `null` (the spec is OpenAPI 3.0,
//! where a property that may be `null` would have to say so).

use super::text::{AmountText, Text};
use crate::ledger::lots::Status;
use crate::ledger::{EntryRecord, account_id};
use crate::time::to_rfc3339;
use poem_openapi::Object;
use serde::Serialize;
use uuid::Uuid;

/// An entry to post.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct NewEntry {
    /// An operation of the app's catalog, e.g. `DAILY_REWARD`.
    pub operation: Text,
    /// The owner whose account the entry moves (1 to 128 characters, not starting with `@`).
    pub owner_id: Text,
    /// Unique per app: the same nonce with the same request is answered from the first
    /// time; with a different request it is refused (`nonce_reused`).
    pub nonce: Text,
    /// A decimal string such as `"12.50"`; left out for fixed-amount operations.
    pub amount: Option<AmountText>,
    /// The receiving owner of a transfer.
    pub counterparty_id: Option<Text>,
    /// Any JSON object, kept with the entry (at most 4 KiB, 8 levels deep).
    pub metadata: Option<serde_json::Value>,
    /// RFC 3339, in the future: when the lot this credit opens expires. Only where the
    /// operation lets a request set it (`request_expires_at`), such as CREDIT_ADD.
    pub expires_at: Option<Text>,
    /// 0 to 100, lower is spent first: the priority of the lot this credit opens. Only
    /// where the operation lets a request set it (`request_priority`).
    pub priority: Option<i64>,
}

/// A credit lot: what one credit granted, and what is left of it.
#[derive(Debug, Object, Serialize)]
#[oai(skip_serializing_if_is_none)]
pub struct LotView {
    pub id: Uuid,
    pub owner_id: String,
    pub asset: String,
    /// What the lot granted (the credit, less any part of it that covered a shortfall).
    pub amount: String,
    /// What is left to spend; 0 once the lot is closed.
    pub remaining: String,
    /// `promotional` or `paid`.
    pub category: String,
    /// 0 to 100, lower is spent first.
    pub priority: i32,
    /// From this instant on the lot no longer counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// `open`, `spent`, `expired` or `voided`. A lot is `expired` from its expiry instant,
    /// before the expiry is recorded too.
    pub status: String,
    /// The entry that opened it (absent for a balance older than lots).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<Uuid>,
    pub created_at: String,
    /// The `EXPIRY` or `LOT_VOID` entry that closed it, once recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<Uuid>,
    /// What that entry moved out of the lot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_amount: Option<String>,
}

impl LotView {
    /// `row`, a lot of `owner_id`'s account in `asset`, as recorded.
    pub fn recorded(row: &entity::lot::Model, owner_id: &str, asset: &str) -> LotView {
        LotView {
            id: row.id,
            owner_id: owner_id.to_owned(),
            asset: asset.to_owned(),
            amount: row.amount.clone(),
            remaining: row.remaining.clone(),
            category: row.category.clone(),
            priority: row.priority,
            expires_at: row.expires_at.map(to_rfc3339),
            status: row.status.clone(),
            entry_id: row.entry_id,
            created_at: to_rfc3339(row.created_at),
            closed_by: row.closed_by,
            closed_amount: row.closed_amount.clone(),
        }
    }

    /// `row` as seen at `now`: an open lot past its expiry instant shows as expired, with
    /// nothing left, whether or not its expiry is recorded yet.
    pub fn at(row: &entity::lot::Model, owner_id: &str, asset: &str, now: i64) -> LotView {
        let view = LotView::recorded(row, owner_id, asset);
        let lapsed =
            row.status == Status::Open.as_str() && row.expires_at.is_some_and(|t| t <= now);
        match lapsed {
            false => view,
            true => LotView {
                remaining: "0".to_owned(),
                status: Status::Expired.as_str().to_owned(),
                ..view
            },
        }
    }
}

/// One lot's part of an entry, in the drawdown order.
#[derive(Debug, Object, Serialize)]
pub struct AllocationView {
    pub lot_id: Uuid,
    pub amount: String,
}

/// An owner's lots.
#[derive(Debug, Object, Serialize)]
pub struct LotList {
    /// The open lots in drawdown order, then (with `include=closed`) the closed ones,
    /// most recently closed first.
    pub lots: Vec<LotView>,
}

/// One workflow step an entry took.
#[derive(Debug, Object, Serialize)]
pub struct Transition {
    pub state: String,
    pub at: String,
}

/// One account event written by an entry.
#[derive(Debug, Object, Serialize)]
pub struct Posting {
    pub owner_id: String,
    pub asset: String,
    /// The account's version after this posting.
    pub version: i64,
    /// Signed: negative when the account paid.
    pub amount: String,
    pub balance_after: String,
    pub recorded_at: String,
    /// This posting's link in the account's hash chain (SHA-256, hex).
    pub hash: String,
}

/// A recorded entry.
#[derive(Debug, Object, Serialize)]
#[oai(skip_serializing_if_is_none)]
pub struct Entry {
    pub id: Uuid,
    pub nonce: String,
    pub operation: String,
    pub owner_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterparty_id: Option<String>,
    pub amount: String,
    pub asset: String,
    /// `received`, `validating`, `nonce_check`, `balance_check`, `processing`, `completed`
    /// or `failed`; a hold's placement ends `held` (the hold's later states are in
    /// `GET /v1/holds/{id}`).
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_detail: Option<String>,
    /// The owner's balance after the entry (completed entries only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance_after: Option<String>,
    /// The owner's account version after the entry (completed entries only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    pub postings: Vec<Posting>,
    pub transitions: Vec<Transition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    /// The lot a credit opened in the owner's account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<LotView>,
    /// What the entry drew from the owner's lots, in the drawdown order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocations: Option<Vec<AllocationView>>,
    /// The lots a transfer opened in the counterparty's account, one per lot it drew from
    /// (same category, priority and expiry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterparty_lots: Option<Vec<LotView>>,
    /// The hold this entry captured, voided or expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_id: Option<Uuid>,
    /// The entry this one reverses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverses: Option<Uuid>,
    /// What this entry's reversals took back, and which they are (oldest first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reversed_amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reversals: Option<Vec<Uuid>>,
    pub created_at: String,
}

impl From<&EntryRecord> for Entry {
    fn from(r: &EntryRecord) -> Self {
        let e = &r.entry;
        let owner = r.owner_posting();
        // As the entry left them: the lots it opened are open, whatever they are now.
        let opened = |owner_id: &str| -> Vec<LotView> {
            let account = account_id(e.app_id, owner_id, &e.asset);
            r.lots
                .iter()
                .filter(|l| l.entry_id == Some(e.id) && l.account_id == account)
                .map(|l| LotView::recorded(l, owner_id, &e.asset))
                .collect()
        };
        let counterparty_lots = e.counterparty_id.as_deref().map(opened);
        let reversed = r.reversals.iter().find(|rev| rev.entry_id == e.id);
        Entry {
            id: e.id,
            nonce: e.nonce.clone(),
            operation: e.operation.clone(),
            owner_id: e.owner_id.clone(),
            counterparty_id: e.counterparty_id.clone(),
            amount: e.amount.clone(),
            asset: e.asset.clone(),
            state: r.state().as_str().to_owned(),
            failure_code: r.failure_code().map(str::to_owned),
            failure_detail: r.failure_detail().map(str::to_owned),
            balance_after: owner.map(|p| p.balance_after.clone()),
            version: owner.map(|p| p.version),
            postings: r
                .postings
                .iter()
                .map(|p| Posting {
                    owner_id: p.owner_id.clone(),
                    asset: p.asset.clone(),
                    version: p.version,
                    amount: p.amount.clone(),
                    balance_after: p.balance_after.clone(),
                    recorded_at: to_rfc3339(p.recorded_at),
                    hash: p.hash.clone(),
                })
                .collect(),
            transitions: r
                .events
                .iter()
                .map(|ev| Transition {
                    state: ev.state.clone(),
                    at: to_rfc3339(ev.at),
                })
                .collect(),
            metadata: e
                .metadata
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok()),
            lot: opened(&e.owner_id).into_iter().next(),
            allocations: (!r.allocations.is_empty()).then(|| {
                r.allocations
                    .iter()
                    .map(|a| AllocationView {
                        lot_id: a.lot_id,
                        amount: a.amount.clone(),
                    })
                    .collect()
            }),
            counterparty_lots: counterparty_lots.filter(|lots| !lots.is_empty()),
            hold_id: e.hold_id,
            reverses: e.reverses,
            reversed_amount: reversed.map(|r| r.reversed.clone()),
            reversals: reversed.and_then(|r| serde_json::from_str(&r.reversal_ids).ok()),
            created_at: to_rfc3339(e.created_at),
        }
    }
}

/// A page of an owner's entries, newest first.
#[derive(Debug, Object, Serialize)]
#[oai(skip_serializing_if_is_none)]
pub struct EntryList {
    pub entries: Vec<Entry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// An account's balance, now or at a past time.
#[derive(Debug, Object, Serialize)]
#[oai(skip_serializing_if_is_none)]
pub struct AccountBalance {
    pub owner_id: String,
    pub asset: String,
    /// Every credit the owner has, held ones included.
    pub balance: String,
    /// What open holds reserve (a hold stops holding at its expiry instant, recorded or not).
    pub held: String,
    /// What spends and new holds may take: `balance − held`.
    pub available: String,
    /// `active`, `frozen` (debits and new holds refused) or `closed` (now; absent with `at`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The version of the account's last posting (0: none yet).
    pub version: i64,
    /// The time asked for, when the balance is a past one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The open lots, in drawdown order (current balances only). Their remaining less
    /// any shortfall an overdraft left is the balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lots: Option<Vec<LotView>>,
}

/// The service's health.
#[derive(Debug, Object)]
pub struct Health {
    pub status: String,
}

/// Whether this instance can take writes, part by part.
#[derive(Debug, Object)]
pub struct Readiness {
    /// The event store answers, its migrations are applied and the writer runs.
    pub ready: bool,
    /// `ok`, or `unavailable: …`.
    pub event_store: String,
    /// The event store's migrations: `current`, `N pending` or `unknown`.
    pub migrations: String,
    /// The batch writer: `running` or `stopped`.
    pub writer: String,
    /// `ok`, `N migrations pending` or `unavailable: …` (reported, not required).
    pub read_model: String,
    /// `in-process`, or NATS: `connected`, `connecting` or `disconnected` (reported, not
    /// required).
    pub bus: String,
}
