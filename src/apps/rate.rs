//! Per-app rate limits, shared by every instance of the service.
//!
//! Each app has one token bucket, stored in the event store (`rate_buckets`; on SQLite in a
//! file beside the store's: `Store::rate_buckets`). An instance does not ask the store for
//! every request: it takes a lease of a tenth of a second's tokens at once
//! ([`Rate::lease`]), spends it in memory, and takes the next lease when half of it is
//! gone, in the background. The rate over all instances is therefore the bucket's rate,
//! off by at most the leases they hold unspent. A take that finds the bucket
//! empty writes nothing, and the instance answers 429 from memory until the bucket's next
//! token is due, so an app far over its rate costs the store one read per instance per
//! refill.
//!
//! A bucket is changed by compare-and-set on its whole state, so two instances taking at
//! once both see a bucket that holds what was left.

use super::bucket::{Bucket, Rate, Taken};
use crate::store::Store;
use crate::time::now_micros;
use entity::rate_bucket;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use uuid::Uuid;

/// The rate limits of one instance: the service's default and each app's lease.
pub struct RateLimits {
    store: Store,
    default: Rate,
    leases: Mutex<HashMap<Uuid, Arc<Lease>>>,
}

/// The tokens of one app that this instance holds.
#[derive(Default)]
struct Lease {
    state: Mutex<Held>,
    refilled: Notify,
}

#[derive(Default)]
struct Held {
    /// The rate `tokens` were taken under: a lease of another rate is dropped, so that a
    /// lowered limit holds from the app's next request on.
    rate: Option<Rate>,
    tokens: u32,
    /// A take from the store is under way.
    taking: bool,
    /// The bucket was found empty: no token before this instant.
    empty_until: Option<Instant>,
}

/// What a request does next with its app's lease.
enum Next {
    /// A token was spent; `take_more` when this request should start the next take.
    Admitted { take_more: bool },
    /// The bucket is empty for this long.
    Limited(Duration),
    /// No token is held and no take is under way: this request takes.
    Take,
    /// Another request's take is under way.
    Wait,
}

impl Lease {
    fn held(&self) -> MutexGuard<'_, Held> {
        // Every change to `Held` is a few assignments that cannot panic halfway.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Spends a token if one is held; otherwise says whether to take, wait or refuse. A
    /// take starts in the background once half a lease is spent, so that requests seldom
    /// wait for the store.
    fn next(&self, rate: Rate) -> Next {
        let mut held = self.held();
        if held.rate != Some(rate) {
            held.rate = Some(rate);
            held.tokens = 0;
            held.empty_until = None;
        }
        if held.tokens > 0 {
            held.tokens -= 1;
            let take_more = held.tokens < rate.lease() / 2 && !held.taking;
            held.taking |= take_more;
            return Next::Admitted { take_more };
        }
        if let Some(until) = held.empty_until {
            let left = until.saturating_duration_since(Instant::now());
            if !left.is_zero() {
                return Next::Limited(left);
            }
            held.empty_until = None;
        }
        match std::mem::replace(&mut held.taking, true) {
            true => Next::Wait,
            false => Next::Take,
        }
    }
}

/// Over the rate: retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited(pub Duration);

impl RateLimits {
    pub fn new(store: Store, default: Rate) -> RateLimits {
        RateLimits {
            store,
            default,
            leases: Mutex::default(),
        }
    }

    /// Spends one of the app's tokens, or says how long until one is there. `rate` is the
    /// app's own rate, if it has one; else the service's default applies.
    pub async fn admit(&self, app_id: Uuid, rate: Option<Rate>) -> Result<(), Limited> {
        let rate = rate.unwrap_or(self.default);
        if rate.is_unlimited() {
            return Ok(());
        }
        let lease = self.lease(app_id);
        loop {
            match lease.next(rate) {
                Next::Admitted { take_more } => {
                    if take_more {
                        let (store, lease) = (self.store.clone(), lease.clone());
                        tokio::spawn(async move { take(&store, app_id, rate, &lease).await });
                    }
                    return Ok(());
                }
                Next::Limited(wait) => return Err(Limited(wait)),
                // Boxed: a take reads the store, and its future inline would make every
                // request's future kilobytes larger (and moved so), taken or not.
                Next::Take => Box::pin(take(&self.store, app_id, rate, &lease)).await,
                Next::Wait => {
                    // Registered before looking again, so the take's wake-up cannot slip
                    // between the look and the wait.
                    let refilled = lease.refilled.notified();
                    tokio::pin!(refilled);
                    refilled.as_mut().enable();
                    if lease.held().taking {
                        refilled.await;
                    }
                }
            }
        }
    }

    fn lease(&self, app_id: Uuid) -> Arc<Lease> {
        let mut leases = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
        leases.entry(app_id).or_default().clone()
    }
}

/// Takes a lease from the app's bucket into `lease`, and wakes whoever waits for it. A
/// store that cannot be reached grants the lease anyway: a request that needs the store
/// fails on its own, and one that does not (a read of the read model) should not fail
/// because of the limiter.
async fn take(store: &Store, app_id: Uuid, rate: Rate, lease: &Lease) {
    let taken = take_from_store(store, app_id, rate, rate.lease()).await;
    let mut held = lease.held();
    held.taking = false;
    // Tokens taken under a rate the app no longer has are dropped: the next request takes
    // under the new one.
    if held.rate == Some(rate) {
        match taken {
            Ok(Taken {
                granted: 0,
                wait_us,
                ..
            }) => {
                let wait = Duration::from_micros(u64::try_from(wait_us).unwrap_or(0));
                held.empty_until = Some(Instant::now() + wait);
            }
            Ok(taken) => held.tokens += taken.granted,
            Err(error) => {
                tracing::warn!(%error, %app_id, "rate limit: the bucket cannot be read; granting a lease");
                held.tokens += rate.lease();
            }
        }
    }
    drop(held);
    lease.refilled.notify_waiters();
}

/// Takes up to `want` tokens from the stored bucket, by compare-and-set (retried while
/// another instance changes it in between). A take that grants nothing writes nothing.
async fn take_from_store(
    store: &Store,
    app_id: Uuid,
    rate: Rate,
    want: u32,
) -> Result<Taken, DbErr> {
    let db = store.rate_buckets().await?;
    for _ in 0..16 {
        let now = now_micros();
        let stored = rate_bucket::Entity::find_by_id(app_id).one(db).await?;
        let Some(row) = stored else {
            let taken = Bucket::full(rate, now).take(rate, now, want);
            let row = rate_bucket::Model {
                app_id,
                tokens_milli: taken.bucket.milli,
                counted_at: taken.bucket.at,
            };
            let inserted = rate_bucket::Entity::insert(row.into_active_model())
                .on_conflict(
                    OnConflict::column(rate_bucket::Column::AppId)
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(db)
                .await?;
            if inserted == 1 {
                return Ok(taken);
            }
            continue;
        };
        let before = Bucket {
            milli: row.tokens_milli,
            at: row.counted_at,
        };
        let taken = before.take(rate, now, want);
        if taken.granted == 0 {
            return Ok(taken);
        }
        let changed = rate_bucket::Entity::update_many()
            .col_expr(
                rate_bucket::Column::TokensMilli,
                Expr::value(taken.bucket.milli),
            )
            .col_expr(rate_bucket::Column::CountedAt, Expr::value(taken.bucket.at))
            .filter(rate_bucket::Column::AppId.eq(app_id))
            .filter(rate_bucket::Column::TokensMilli.eq(before.milli))
            .filter(rate_bucket::Column::CountedAt.eq(before.at))
            .exec(db)
            .await?;
        if changed.rows_affected == 1 {
            return Ok(taken);
        }
    }
    Err(DbErr::Custom(
        "the rate bucket kept changing under this instance".to_owned(),
    ))
}
