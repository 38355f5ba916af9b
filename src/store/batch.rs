//! The write path: one transaction per batch of commands, retried whole on conflict.

use super::retry::retrying;
use super::{Inserts, Store, StoreError, events};
use crate::projection::{Delivered, EntryMessage, Projector, Verdict};
use crate::time::now_micros;
use crate::workflow::EntryRecord;
use crate::workflow::apply::{Head, Loaded, Plan, Usage, UsageKey, apply, stored_decimal};
use crate::workflow::{Command, Outcome, account_id, usage_keys};
use entity::{account, entry, entry_event, outbox, pending_entry, posting, usage};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, Statement,
};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// What storing an async entry's `received` state found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Stored now; the workflow will finish it.
    Stored,
    /// The nonce already belongs to this entry, with this request hash.
    Existing {
        entry_id: Uuid,
        request_hash: String,
    },
}

impl Store {
    /// Runs the workflow for `commands` in one transaction and returns what it decided and
    /// wrote. A conflict with another writer (SQLSTATE 40001, a unique violation, SQLite
    /// busy) rolls back and runs the whole batch again on fresh reads.
    ///
    /// With `inline`, a projector whose read model is in this database, the recorded
    /// entries are projected in the same transaction instead of going through the outbox.
    pub async fn run_batch(
        &self,
        commands: &[Command],
        inline: Option<&Projector>,
    ) -> Result<Plan, StoreError> {
        retrying(|| self.try_batch(commands, inline)).await
    }

    async fn try_batch(
        &self,
        commands: &[Command],
        inline: Option<&Projector>,
    ) -> Result<Plan, StoreError> {
        let txn = self.begin_write().await?;
        let now = now_micros();
        let loaded = load(&txn, commands, now).await?;
        let plan = apply(commands, loaded, now).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut inserts = Inserts::new(self.backend());
        write(&mut inserts, &plan)?;
        let projected = forward(&txn, &mut inserts, &plan, now_micros(), inline).await?;
        inserts.run(&txn).await?;
        if !plan.finished_pending.is_empty() {
            pending_entry::Entity::delete_many()
                .filter(pending_entry::Column::EntryId.is_in(plan.finished_pending.clone()))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        if let (Some(projector), Some((delivered, verdicts))) = (inline, projected) {
            projector.observe(&delivered, &verdicts);
        }
        self.wake_relay();
        Ok(plan)
    }

    /// Durably stores an async entry in state `received` (entry row, its first event, and a
    /// pending row), unless its nonce is already taken.
    pub async fn receive(&self, cmd: &Command) -> Result<Received, StoreError> {
        retrying(|| async {
            // The nonce is all that is contended here, and the unique index on
            // (app_id, nonce) decides it: no SERIALIZABLE read is needed (under many
            // concurrent receives it only produced serialization failures).
            let txn = self.begin_claim().await?;
            let received = cmd.received_record();
            let nonce = OnConflict::columns([entry::Column::AppId, entry::Column::Nonce])
                .do_nothing()
                .to_owned();
            let claimed = entry::Entity::insert(received.entry.clone().into_active_model())
                .on_conflict(nonce)
                .exec_without_returning(&txn)
                .await?;
            if claimed == 0 {
                let existing = entry::Entity::find()
                    .filter(entry::Column::AppId.eq(cmd.app_id))
                    .filter(entry::Column::Nonce.eq(cmd.nonce.as_str()))
                    .one(&txn)
                    .await?
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("nonce {:?} is taken by no entry", cmd.nonce))
                    })?;
                return Ok(Received::Existing {
                    entry_id: existing.id,
                    request_hash: existing.request_hash,
                });
            }
            for event in &received.events {
                event.clone().into_active_model().insert(&txn).await?;
            }
            let mut inserts = Inserts::new(self.backend());
            add_outbox(&mut inserts, [&received], now_micros())?;
            inserts.run(&txn).await?;
            pending_entry::Model {
                entry_id: cmd.entry_id,
                app_id: cmd.app_id,
                received_at: cmd.received_at,
            }
            .into_active_model()
            .insert(&txn)
            .await?;
            txn.commit().await?;
            self.wake_relay();
            Ok(Received::Stored)
        })
        .await
    }
}

/// Reads everything the batch depends on: claimed nonces, account heads, limit usage and
/// which stored entries are still pending.
async fn load(
    db: &impl ConnectionTrait,
    commands: &[Command],
    now: i64,
) -> Result<Loaded, StoreError> {
    let mut loaded = Loaded::default();

    let mut nonces: Vec<(Uuid, &str)> = Vec::new();
    let mut accounts = BTreeSet::new();
    let mut usage_wanted: BTreeMap<(Uuid, String, String), Vec<String>> = BTreeMap::new();
    let mut stored = Vec::new();
    for cmd in commands {
        if cmd.stored {
            stored.push(cmd.entry_id);
        } else {
            nonces.push((cmd.app_id, &cmd.nonce));
        }
        accounts.insert(account_id(cmd.app_id, &cmd.owner_id, &cmd.operation.asset));
        accounts.insert(account_id(
            cmd.app_id,
            cmd.other_owner(),
            &cmd.operation.asset,
        ));
        for (app, owner, op, window) in usage_keys(cmd, now) {
            usage_wanted
                .entry((app, op, window))
                .or_default()
                .push(owner);
        }
    }

    for (id, app, nonce, hash) in claimed_nonces(db, &nonces).await? {
        loaded.nonces.insert((app, nonce), (id, hash));
    }

    for a in account::Entity::find()
        .filter(account::Column::Id.is_in(accounts))
        .all(db)
        .await?
    {
        let head = Head {
            balance: stored_decimal(&a.balance).map_err(StoreError::Corrupt)?,
            app_id: a.app_id,
            owner_id: a.owner_id,
            asset: a.asset,
            version: a.version,
            updated_at: a.updated_at,
            hash: a.hash,
        };
        loaded.heads.insert(a.id, head);
    }

    if !usage_wanted.is_empty() {
        let mut any = Condition::any();
        for ((app, op, window), owners) in usage_wanted {
            any = any.add(
                Condition::all()
                    .add(usage::Column::AppId.eq(app))
                    .add(usage::Column::Operation.eq(op))
                    .add(usage::Column::Window.eq(window))
                    .add(usage::Column::OwnerId.is_in(owners)),
            );
        }
        for u in usage::Entity::find().filter(any).all(db).await? {
            let key: UsageKey = (u.app_id, u.owner_id, u.operation, u.window);
            let value = Usage {
                count: u.count,
                total: stored_decimal(&u.total).map_err(StoreError::Corrupt)?,
                last_at: u.last_at,
            };
            loaded.usage.insert(key, value);
        }
    }

    if !stored.is_empty() {
        loaded.pending = pending_entry::Entity::find()
            .filter(pending_entry::Column::EntryId.is_in(stored))
            .all(db)
            .await?
            .into_iter()
            .map(|p| p.entry_id)
            .collect();
    }
    Ok(loaded)
}

/// Sends a plan's recorded entries on to the read model. Into the outbox, or, with an
/// inline projector, straight into the read model in this transaction; a message that must
/// wait for an earlier one (still in the outbox) goes to the outbox after it, so the
/// projector's order per account holds either way. Returns what was projected here.
async fn forward<'p>(
    db: &impl ConnectionTrait,
    inserts: &mut Inserts,
    plan: &'p Plan,
    committed_at: i64,
    inline: Option<&Projector>,
) -> Result<Option<(Vec<Delivered<'p>>, Vec<Verdict>)>, DbErr> {
    let recorded = plan.outcomes.iter().filter_map(|o| match o {
        Outcome::Recorded(record) => Some(&**record),
        _ => None,
    });
    let Some(projector) = inline else {
        add_outbox(inserts, recorded, committed_at)?;
        return Ok(None);
    };
    let delivered: Vec<Delivered> = recorded
        .map(|record| Delivered {
            record,
            committed_at,
            position: 0,
        })
        .collect();
    let verdicts = projector.apply_in(db, inserts, &delivered).await?;
    let waiting = delivered
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| **v == Verdict::Waiting)
        .map(|(d, _)| d.record);
    add_outbox(inserts, waiting, committed_at)?;
    Ok(Some((delivered, verdicts)))
}

/// Adds the outbox rows that carry `records`' messages.
fn add_outbox<'a>(
    inserts: &mut Inserts,
    records: impl IntoIterator<Item = &'a EntryRecord>,
    committed_at: i64,
) -> Result<(), DbErr> {
    let rows = EntryMessage::outbox_rows(records, committed_at)
        .map_err(|e| DbErr::Custom(format!("cannot encode an outbox message: {e}")))?;
    inserts.add::<outbox::Entity, _>(&rows, None)?;
    Ok(())
}

/// Writes a plan with multi-row statements: appends entries, events and postings, upserts
/// the touched account heads and usage rows, and clears finished pending entries.
///
/// Heads are upserted without a version check: the `(account_id, version)` primary key of
/// the postings inserted in the same transaction is the check. A writer that read a stale
/// head appends a version that exists and fails with a unique violation (or, on PostgreSQL
/// and CockroachDB, a serialization failure first), and its whole batch runs again.
fn write(inserts: &mut Inserts, plan: &Plan) -> Result<(), DbErr> {
    inserts
        .add::<entry::Entity, _>(&plan.entries, None)?
        .add::<entry_event::Entity, _>(&events::fold(&plan.events)?, None)?
        .add::<posting::Entity, _>(&plan.postings, None)?;
    let heads = OnConflict::column(account::Column::Id)
        .update_columns([
            account::Column::Balance,
            account::Column::Version,
            account::Column::UpdatedAt,
            account::Column::Hash,
        ])
        .to_owned();
    inserts.add::<account::Entity, _>(&plan.heads, Some(heads))?;
    let usage = OnConflict::columns([
        usage::Column::AppId,
        usage::Column::OwnerId,
        usage::Column::Operation,
        usage::Column::Window,
    ])
    .update_columns([
        usage::Column::Count,
        usage::Column::Total,
        usage::Column::LastAt,
    ])
    .to_owned();
    inserts.add::<usage::Entity, _>(&plan.usage, Some(usage))?;
    Ok(())
}

/// The entries that hold any of `nonces` (app, nonce): `(id, app, nonce, request hash)`.
///
/// On PostgreSQL every key is one probe of the unique `(app_id, nonce)` index, the only
/// index of `entries` that starts with `app_id` (migration 000023 dropped the others: the
/// planner, on a young table, chose one of them and filtered every entry of the app, so a
/// batch cost grew with the ledger). The `LATERAL … LIMIT 1` keeps the lookup a per-key
/// probe whatever the statistics say, and the statement text does not vary with the batch.
async fn claimed_nonces(
    db: &impl ConnectionTrait,
    nonces: &[(Uuid, &str)],
) -> Result<Vec<(Uuid, Uuid, String, String)>, DbErr> {
    if nonces.is_empty() {
        return Ok(Vec::new());
    }
    if db.get_database_backend() == DbBackend::Postgres {
        #[derive(serde::Serialize)]
        struct Key<'a> {
            app_id: Uuid,
            nonce: &'a str,
        }
        let keys: Vec<Key> = nonces
            .iter()
            .map(|&(app_id, nonce)| Key { app_id, nonce })
            .collect();
        let keys = serde_json::to_string(&keys).map_err(|e| DbErr::Custom(e.to_string()))?;
        let sql = r#"SELECT e.id, e.app_id, e.nonce, e.request_hash
            FROM json_to_recordset($1::json) AS k(app_id uuid, nonce text)
            CROSS JOIN LATERAL (
                SELECT id, app_id, nonce, request_hash FROM entries
                WHERE entries.app_id = k.app_id AND entries.nonce = k.nonce
                LIMIT 1
            ) AS e"#;
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                [keys.into()],
            ))
            .await?;
        return rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("", "id")?,
                    r.try_get("", "app_id")?,
                    r.try_get("", "nonce")?,
                    r.try_get("", "request_hash")?,
                ))
            })
            .collect();
    }
    let mut by_app: BTreeMap<Uuid, Vec<&str>> = BTreeMap::new();
    for &(app, nonce) in nonces {
        by_app.entry(app).or_default().push(nonce);
    }
    let mut any = Condition::any();
    for (app, list) in by_app {
        any = any.add(
            Condition::all()
                .add(entry::Column::AppId.eq(app))
                .add(entry::Column::Nonce.is_in(list)),
        );
    }
    entry::Entity::find()
        .select_only()
        .columns([
            entry::Column::Id,
            entry::Column::AppId,
            entry::Column::Nonce,
            entry::Column::RequestHash,
        ])
        .filter(any)
        .into_tuple()
        .all(db)
        .await
}
