//! What a batch reads before it is decided: the nonces its commands claim, the heads of
//! the accounts they post to, the open lots and holds of those they draw from, the holds
//! they end, their usage windows, which of their stored entries are still pending, and
//! which of the API keys they were sent with are still unrevoked.
//! Read inside the batch's transaction, so that the decision and its rows commit or retry
//! together.

use super::read::live_keys_query;
use super::txn::{WriteTxn, take};
use super::{BatchWrite, StoreError};
use crate::decimal::stored_decimal;
use crate::ledger::decide::{Head, Loaded, Wanted};
use crate::ledger::holds::Hold;
use crate::ledger::limits::{Usage, UsageKey};
use crate::ledger::lots::{Lot, Status};
use crate::ledger::monitors::Monitor;
use crate::ledger::state::EntryState;
use entity::{account, entry, event_seq, hold, lot, monitor, pending_entry, reversal, usage};
use sea_orm::sea_query::{Expr, UnionType};
use sea_orm::{
    ColumnTrait, ColumnType, Condition, DbBackend, DbErr, EntityTrait, QueryFilter, QuerySelect,
    QueryTrait, Statement, StatementBuilder, Value,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;
use uuid::Uuid;

impl BatchWrite<'_> {
    /// Reads what `wanted` names.
    pub async fn load(&self, wanted: &Wanted) -> Result<Loaded, StoreError> {
        let db = &self.txn;
        let mut loaded = Loaded::default();
        for (id, app, nonce, hash) in claimed_nonces(db, &wanted.nonces).await? {
            loaded.nonces.insert((app, nonce), (id, hash));
        }
        (loaded.heads, loaded.event_seqs, loaded.live_keys) =
            heads_seqs_and_live_keys(db, wanted).await?;
        // Only accounts with monitors have monitors to read, and only accounts with open
        // holds have holds to read: most batches read neither.
        let watched: BTreeSet<Uuid> = loaded
            .heads
            .iter()
            .filter(|(_, h)| h.monitors > 0)
            .map(|(id, _)| *id)
            .collect();
        loaded.monitors = monitors_of(db, &watched).await?;
        let holding: BTreeSet<Uuid> = wanted
            .lot_accounts
            .iter()
            .chain(&watched)
            .filter(|id| loaded.heads.get(id).is_some_and(|h| h.open_holds > 0))
            .copied()
            .collect();
        loaded.holds = holds_of(db, &holding, &wanted.holds).await?;
        if !wanted.lot_accounts.is_empty() {
            // The open lots, and those the holds reserve (a lot whose expiry is recorded
            // keeps what an open hold reserves of it).
            let reserved: BTreeSet<Uuid> = loaded
                .holds
                .iter()
                .flat_map(|(h, _)| h.shares.iter().map(|s| s.lot_id))
                .collect();
            let open = Condition::all()
                .add(lot::Column::AccountId.is_in(wanted.lot_accounts.iter().copied()))
                .add(lot::Column::Status.eq(Status::Open.as_str()));
            let mut any = Condition::any().add(open);
            let named: BTreeSet<Uuid> = reserved.union(&wanted.lots).copied().collect();
            if !named.is_empty() {
                any = any.add(lot::Column::Id.is_in(named));
            }
            for row in db.all(lot::Entity::find().filter(any)).await? {
                loaded
                    .lots
                    .push((Lot::from_row(&row).map_err(StoreError::Corrupt)?, row));
            }
        }
        if !wanted.reversals.is_empty() {
            loaded.reversed = db
                .all(
                    reversal::Entity::find()
                        .filter(reversal::Column::EntryId.is_in(wanted.reversals.iter().copied())),
                )
                .await?
                .into_iter()
                .map(|r| (r.entry_id, r))
                .collect();
        }
        loaded.usage = usage_of(db, &wanted.usage).await?;
        if !wanted.stored.is_empty() {
            loaded.pending = db
                .all(
                    pending_entry::Entity::find()
                        .filter(pending_entry::Column::EntryId.is_in(wanted.stored.clone())),
                )
                .await?
                .into_iter()
                .map(|p| p.entry_id)
                .collect();
        }
        Ok(loaded)
    }
}

/// What a batch reads in one statement (one round trip on the writer's chain instead of
/// three): the heads of its accounts, the last event number of each of its apps, and which
/// of the API keys it was sent with are not revoked. The rows share [`HEAD_ROW`]'s
/// columns: a head's row fills all but the last; an app's row carries its id first and its
/// number last; a key's row its id alone.
async fn heads_seqs_and_live_keys(
    db: &WriteTxn,
    wanted: &Wanted,
) -> Result<(HashMap<Uuid, Head>, HashMap<Uuid, i64>, HashSet<Uuid>), StoreError> {
    use account::Column as A;
    let null = |ty: &ColumnType| Expr::value(null_of(ty));
    let mut select = account::Entity::find()
        .select_only()
        .columns(HEAD_COLUMNS)
        .expr(null(&ColumnType::BigInteger))
        .filter(A::Id.is_in(wanted.accounts.iter().copied()))
        .into_query();
    let padding = || HEAD_ROW[1..HEAD_COLUMNS.len()].iter().map(null);
    let seqs = event_seq::Entity::find()
        .select_only()
        .column(event_seq::Column::AppId)
        .exprs(padding())
        .column(event_seq::Column::Seq)
        .filter(event_seq::Column::AppId.is_in(wanted.apps.iter().copied()))
        .into_query();
    select.union(UnionType::All, seqs);
    if !wanted.keys.is_empty() {
        let keys = live_keys_query(wanted.keys.iter().copied())
            .exprs(padding())
            .expr(null(&ColumnType::BigInteger))
            .into_query();
        select.union(UnionType::All, keys);
    }
    let stmt = StatementBuilder::build(&select, &db.backend());
    let (mut heads, mut seqs, mut live) = (HashMap::new(), HashMap::new(), HashSet::new());
    for row in db.rows(stmt, &HEAD_ROW).await? {
        let [id, app, rest @ .., seq] = <[Value; 13]>::try_from(row)
            .map_err(|_| DbErr::Type("a head's row of thirteen columns".into()))?;
        let id: Uuid = take(id)?;
        match (take::<Option<Uuid>>(app)?, take::<Option<i64>>(seq)?) {
            (Some(app_id), _) => {
                heads.insert(id, head(app_id, rest)?);
            }
            (None, Some(seq)) => {
                seqs.insert(id, seq);
            }
            (None, None) => {
                live.insert(id);
            }
        }
    }
    Ok((heads, seqs, live))
}

/// The columns of a head, as [`heads_seqs_and_live_keys`] reads them.
const HEAD_COLUMNS: [account::Column; 12] = [
    account::Column::Id,
    account::Column::AppId,
    account::Column::OwnerId,
    account::Column::Asset,
    account::Column::Balance,
    account::Column::Version,
    account::Column::UpdatedAt,
    account::Column::Hash,
    account::Column::Shortfall,
    account::Column::Status,
    account::Column::OpenHolds,
    account::Column::Monitors,
];

/// The declared types of [`HEAD_COLUMNS`], and of an app's event number after them: read
/// off the entity once, not at every batch's read.
static HEAD_ROW: LazyLock<Vec<ColumnType>> = LazyLock::new(|| {
    (HEAD_COLUMNS.iter())
        .map(|column| column.def().get_column_type().clone())
        .chain([ColumnType::BigInteger])
        .collect()
});

/// A NULL of `ty` (one of [`HEAD_ROW`]'s), bound as a parameter of that type: the branches
/// of a `UNION` agree on each column's type.
fn null_of(ty: &ColumnType) -> Value {
    match ty {
        ColumnType::Uuid => Value::Uuid(None),
        ColumnType::BigInteger => Value::BigInt(None),
        ColumnType::Integer => Value::Int(None),
        _ => Value::String(None),
    }
}

/// A head from its row's cells between its app and the last.
fn head(app_id: Uuid, cells: [Value; 10]) -> Result<Head, StoreError> {
    let [
        owner_id,
        asset,
        balance,
        version,
        updated_at,
        hash,
        shortfall,
        status,
        open,
        monitors,
    ] = cells;
    let decimal = |cell| stored_decimal(&take::<String>(cell)?).map_err(StoreError::Corrupt);
    Ok(Head {
        app_id,
        owner_id: take(owner_id)?,
        asset: take(asset)?,
        balance: decimal(balance)?,
        version: take(version)?,
        updated_at: take(updated_at)?,
        hash: take(hash)?,
        shortfall: decimal(shortfall)?,
        status: take::<String>(status)?
            .parse()
            .map_err(StoreError::Corrupt)?,
        open_holds: take(open)?,
        monitors: take(monitors)?,
    })
}

/// The monitors of `accounts`.
async fn monitors_of(
    db: &WriteTxn,
    accounts: &BTreeSet<Uuid>,
) -> Result<Vec<(Monitor, monitor::Model)>, StoreError> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    db.all(
        monitor::Entity::find().filter(monitor::Column::AccountId.is_in(accounts.iter().copied())),
    )
    .await?
    .into_iter()
    .map(|row| Ok((Monitor::from_row(&row).map_err(StoreError::Corrupt)?, row)))
    .collect()
}

/// The open holds of `accounts`, and the holds `named`.
async fn holds_of(
    db: &WriteTxn,
    accounts: &BTreeSet<Uuid>,
    named: &BTreeSet<Uuid>,
) -> Result<Vec<(Hold, hold::Model)>, StoreError> {
    if accounts.is_empty() && named.is_empty() {
        return Ok(Vec::new());
    }
    let open = Condition::all()
        .add(hold::Column::AccountId.is_in(accounts.iter().copied()))
        .add(hold::Column::Status.eq(EntryState::Held.as_str()));
    let mut any = Condition::any().add(open);
    if !named.is_empty() {
        any = any.add(hold::Column::Id.is_in(named.iter().copied()));
    }
    db.all(hold::Entity::find().filter(any))
        .await?
        .into_iter()
        .map(|row| Ok((Hold::from_row(&row).map_err(StoreError::Corrupt)?, row)))
        .collect()
}

/// The usage rows of `wanted` windows: `(app, operation, window)` → owners.
async fn usage_of(
    db: &WriteTxn,
    wanted: &BTreeMap<(Uuid, String, String), Vec<String>>,
) -> Result<HashMap<UsageKey, Usage>, StoreError> {
    let mut found = HashMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    let mut any = Condition::any();
    for ((app, op, window), owners) in wanted {
        any = any.add(
            Condition::all()
                .add(usage::Column::AppId.eq(*app))
                .add(usage::Column::Operation.eq(op.as_str()))
                .add(usage::Column::Window.eq(window.as_str()))
                .add(usage::Column::OwnerId.is_in(owners.iter().map(String::as_str))),
        );
    }
    for u in db.all(usage::Entity::find().filter(any)).await? {
        let key: UsageKey = (u.app_id, u.owner_id, u.operation, u.window);
        let value = Usage {
            count: u.count,
            total: stored_decimal(&u.total).map_err(StoreError::Corrupt)?,
            last_at: u.last_at,
        };
        found.insert(key, value);
    }
    Ok(found)
}

/// The entries that hold any of `nonces` (app, nonce): `(id, app, nonce, request hash)`.
///
/// On PostgreSQL every key is one probe of the unique `(app_id, nonce)` index, the only
/// index of `entries` that starts with `app_id` (migration 000023 dropped the others: the
/// planner, on a young table, chose one of them and filtered every entry of the app, so a
/// batch cost grew with the ledger). The `LATERAL … LIMIT 1` keeps the lookup a per-key
/// probe whatever the statistics say, and the statement text does not vary with the batch.
async fn claimed_nonces(
    db: &WriteTxn,
    nonces: &[(Uuid, String)],
) -> Result<Vec<(Uuid, Uuid, String, String)>, DbErr> {
    match db.backend() {
        _ if nonces.is_empty() => Ok(Vec::new()),
        DbBackend::Postgres => probe_each(db, nonces).await,
        _ => in_lists(db, nonces).await,
    }
}

/// PostgreSQL: one `LATERAL … LIMIT 1` probe of the unique index per key.
async fn probe_each(
    db: &WriteTxn,
    nonces: &[(Uuid, String)],
) -> Result<Vec<(Uuid, Uuid, String, String)>, DbErr> {
    #[derive(serde::Serialize)]
    struct Key<'a> {
        app_id: Uuid,
        nonce: &'a str,
    }
    let keys: Vec<Key> = nonces
        .iter()
        .map(|(app_id, nonce)| Key {
            app_id: *app_id,
            nonce,
        })
        .collect();
    let keys = serde_json::to_string(&keys).map_err(|e| DbErr::Custom(e.to_string()))?;
    let sql = r#"SELECT e.id, e.app_id, e.nonce, e.request_hash
        FROM json_to_recordset($1::json) AS k(app_id uuid, nonce text)
        CROSS JOIN LATERAL (
            SELECT id, app_id, nonce, request_hash FROM entries
            WHERE entries.app_id = k.app_id AND entries.nonce = k.nonce
            LIMIT 1
        ) AS e"#;
    let probe = Statement::from_sql_and_values(DbBackend::Postgres, sql, [keys.into()]);
    holders(db, probe).await
}

/// SQLite: `app_id = ? AND nonce IN (…)` per app.
async fn in_lists(
    db: &WriteTxn,
    nonces: &[(Uuid, String)],
) -> Result<Vec<(Uuid, Uuid, String, String)>, DbErr> {
    let mut by_app: BTreeMap<Uuid, Vec<&str>> = BTreeMap::new();
    for (app, nonce) in nonces {
        by_app.entry(*app).or_default().push(nonce);
    }
    let mut any = Condition::any();
    for (app, list) in by_app {
        any = any.add(
            Condition::all()
                .add(entry::Column::AppId.eq(app))
                .add(entry::Column::Nonce.is_in(list)),
        );
    }
    let select = entry::Entity::find()
        .select_only()
        .columns([
            entry::Column::Id,
            entry::Column::AppId,
            entry::Column::Nonce,
            entry::Column::RequestHash,
        ])
        .filter(any);
    holders(db, select.build(DbBackend::Sqlite)).await
}

/// The rows of `stmt`: `(id, app, nonce, request hash)` of entries.
async fn holders(
    db: &WriteTxn,
    stmt: Statement,
) -> Result<Vec<(Uuid, Uuid, String, String)>, DbErr> {
    let (uuid, text) = (ColumnType::Uuid, ColumnType::Text);
    let declared = [uuid.clone(), uuid, text.clone(), text];
    db.rows(stmt, &declared)
        .await?
        .into_iter()
        .map(|row| {
            let [id, app, nonce, hash] = <[Value; 4]>::try_from(row)
                .map_err(|_| DbErr::Type("an entry's nonce row of four columns".into()))?;
            Ok((take(id)?, take(app)?, take(nonce)?, take(hash)?))
        })
        .collect()
}

#[cfg(test)]
mod tests;
