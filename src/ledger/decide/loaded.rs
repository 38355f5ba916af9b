//! What a batch reads before it is decided: [`Wanted`] names it, the store answers with
//! [`Loaded`]; and the head of an account as the batch sees it ([`Head`]).

use crate::ledger::account::AccountStatus;
use crate::ledger::command::Reversal;
use crate::ledger::command::{Command, HoldStep, account_id};
use crate::ledger::holds::Hold;
use crate::ledger::limits::{Usage, UsageKey, usage_keys};
use crate::ledger::lots::Lot;
use crate::ledger::monitors::Monitor;
use entity::{account, hold, lot, monitor, reversal};
use operations::{Direction, EXPIRED_ACCOUNT};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use uuid::Uuid;

/// The head of an account as the batch sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub app_id: Uuid,
    pub owner_id: String,
    pub asset: String,
    pub balance: Decimal,
    pub version: i64,
    pub updated_at: i64,
    /// Of the last posting; the next one chains to it.
    pub hash: String,
    /// What overdrawing debits took beyond the owner's lots.
    pub shortfall: Decimal,
    pub status: AccountStatus,
    /// How many holds of the account are not closed.
    pub open_holds: i32,
    /// How many balance monitors watch the account.
    pub monitors: i32,
}

impl Head {
    /// The head of an account without postings yet.
    pub fn empty(app_id: Uuid, owner_id: &str, asset: &str) -> Head {
        Head {
            app_id,
            owner_id: owner_id.to_owned(),
            asset: asset.to_owned(),
            balance: Decimal::ZERO,
            version: 0,
            updated_at: 0,
            hash: crate::ledger::chain::GENESIS.to_owned(),
            shortfall: Decimal::ZERO,
            status: AccountStatus::Active,
            open_holds: 0,
            monitors: 0,
        }
    }

    /// The stored row of this head, account `id`'s.
    pub fn row(&self, id: Uuid) -> account::Model {
        account::Model {
            id,
            app_id: self.app_id,
            owner_id: self.owner_id.clone(),
            asset: self.asset.clone(),
            balance: self.balance.to_string(),
            version: self.version,
            updated_at: self.updated_at,
            hash: self.hash.clone(),
            shortfall: self.shortfall.to_string(),
            status: self.status.as_str().to_owned(),
            open_holds: self.open_holds,
            monitors: self.monitors,
        }
    }
}

/// What a batch needs to know of the stored state before it can be decided.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// `(app, nonce)` of each command not stored yet: who holds them already?
    pub nonces: Vec<(Uuid, String)>,
    /// Every account a command may post to.
    pub accounts: BTreeSet<Uuid>,
    /// The accounts whose open lots a command may draw from.
    pub lot_accounts: BTreeSet<Uuid>,
    /// Usage windows, as `(app, operation, window key)` → owners.
    pub usage: BTreeMap<(Uuid, String, String), Vec<String>>,
    /// Stored (async) entries: which of them are still pending?
    pub stored: Vec<Uuid>,
    /// The holds commands capture, void or expire (the open holds of `lot_accounts` are
    /// loaded too).
    pub holds: BTreeSet<Uuid>,
    /// The entries commands reverse: what has been reversed of them?
    pub reversals: BTreeSet<Uuid>,
    /// Lots reversals give back to or take from, whatever their status.
    pub lots: BTreeSet<Uuid>,
    /// The apps of the commands: the last event `seq` each has given.
    pub apps: BTreeSet<Uuid>,
    /// The API keys the commands were sent with: which are still unrevoked?
    pub keys: BTreeSet<Uuid>,
}

impl Wanted {
    /// The same without the nonces: for a batch whose insert claims them, the unique
    /// `(app_id, nonce)` index refusing a taken one (`workflow::claims`). Its decision
    /// takes every nonce as free.
    pub fn claiming_by_insert(mut self) -> Wanted {
        self.nonces.clear();
        self
    }

    /// What deciding `commands` at `now` reads.
    pub fn of(commands: &[Command], now: i64) -> Wanted {
        let mut wanted = Wanted::default();
        for cmd in commands {
            if cmd.stored {
                wanted.stored.push(cmd.entry_id);
            } else {
                wanted
                    .nonces
                    .push((cmd.app_id, cmd.nonce.as_str().to_owned()));
            }
            wanted.apps.insert(cmd.app_id);
            wanted.keys.extend(cmd.key_id);
            let asset = &cmd.operation.asset;
            for owner in [cmd.owner_id.as_str(), cmd.other_owner()] {
                wanted.accounts.insert(account_id(cmd.app_id, owner, asset));
            }
            if cmd.operation.direction != Direction::Credit {
                let owner = account_id(cmd.app_id, cmd.owner_id.as_str(), asset);
                wanted.lot_accounts.insert(owner);
            }
            if let Some(id) = cmd.hold.and_then(HoldStep::target) {
                wanted.holds.insert(id);
                // Where a capture moves the shares of lots that expired during the hold.
                let expired = account_id(cmd.app_id, EXPIRED_ACCOUNT, asset);
                wanted.accounts.insert(expired);
            }
            if let Some(reversal) = &cmd.reversal {
                wanted.reverse(cmd, reversal);
            }
            for (app, owner, op, window) in usage_keys(cmd, now) {
                wanted
                    .usage
                    .entry((app, op, window))
                    .or_default()
                    .push(owner);
            }
        }
        wanted
    }

    /// What the reversal `cmd` reads: the original's reversals so far, the lots it drew
    /// from and opened, and its owners' open lots and holds (what is free of a lot).
    fn reverse(&mut self, cmd: &Command, reversal: &Reversal) {
        let asset = &cmd.operation.asset;
        self.reversals.insert(reversal.original);
        self.lots.extend(reversal.drawn.iter().map(|a| a.lot_id));
        self.lots.extend(reversal.opened.iter().copied());
        self.accounts
            .insert(account_id(cmd.app_id, EXPIRED_ACCOUNT, asset));
        let owners = [Some(&cmd.owner_id), cmd.counterparty_id.as_ref()];
        for owner in owners.into_iter().flatten() {
            self.lot_accounts
                .insert(account_id(cmd.app_id, owner.as_str(), asset));
        }
    }
}

/// The stored state a batch depends on.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Claimed nonces: `(app, nonce)` → (entry id, request hash).
    pub nonces: HashMap<(Uuid, String), (Uuid, String)>,
    pub heads: HashMap<Uuid, Head>,
    pub usage: HashMap<UsageKey, Usage>,
    /// Of the batch's stored (async) entries, those not finished yet.
    pub pending: HashSet<Uuid>,
    /// The open lots of `Wanted::lot_accounts`, and the lots the loaded holds reserve.
    pub lots: Vec<(Lot, lot::Model)>,
    /// The open holds of `Wanted::lot_accounts`, and `Wanted::holds`.
    pub holds: Vec<(Hold, hold::Model)>,
    /// What has been reversed of `Wanted::reversals` (absent: nothing yet).
    pub reversed: HashMap<Uuid, reversal::Model>,
    /// The last event `seq` of each of `Wanted::apps` (absent: none yet).
    pub event_seqs: HashMap<Uuid, i64>,
    /// The monitors of the loaded accounts that have some.
    pub monitors: Vec<(Monitor, monitor::Model)>,
    /// Of `Wanted::keys`, those not revoked.
    pub live_keys: HashSet<Uuid>,
}
