//! Signed webhooks: each app's endpoints and the delivery of its events to them. SQL on the
//! webhooks' own tables (`webhooks`, `webhook_deliveries`) is written here.
//!
//! - [`registry`]: the webhooks an app registers, and their deliveries as the API shows them;
//! - [`dispatch`]: the background dispatcher of an instance (start, stop, one task per
//!   webhook it holds the lease of);
//! - [`lease`]: which instance delivers a webhook's events;
//! - [`fanout`]: the app's events turned into deliveries, by a cursor per webhook;
//! - [`queue`]: which deliveries go out next (each owner's first pending one);
//! - [`retention`]: the finished deliveries of the events the retention prunes;
//! - [`attempt`]: one HTTP attempt and what it leaves in the delivery's row;
//! - [`policy`]: the addresses webhooks may be sent to; [`signature`]; [`backoff`].
//!
//! All state is in the event store's tables, so deliveries survive restarts and any
//! instance can take over a webhook whose lease another instance let lapse.

mod attempt;
pub mod backoff;
mod dispatch;
mod fanout;
mod lease;
pub mod policy;
mod queue;
pub mod registry;
pub mod retention;
pub mod signature;

pub use backoff::Backoff;
pub use registry::{DeliveryStatus, WebhookPatch};

use crate::ledger::app_events::{self, EventType};
use crate::ledger::{Code, Refusal};
use crate::metrics::Metrics;
use crate::store::Store;
use sea_orm::DbErr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;

/// How deliveries are made; from `LEDGERFLOW_WEBHOOK_*` (`Config::webhooks`).
#[derive(Debug, Clone, Copy)]
pub struct WebhookConfig {
    /// Whether URLs may name or resolve to loopback, private and other internal addresses.
    pub allow_private: bool,
    pub backoff: Backoff,
    /// How long an instance holds a webhook once it took or renewed its lease.
    pub lease: Duration,
    /// How often a webhook's new events are looked for.
    pub poll: Duration,
}

/// The longest an attempt waits for the receiver's answer (its head).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors of the webhooks' API: a refusal of the request, or the event store's failure.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("event store: {0}")]
    Store(#[from] DbErr),
}

/// The webhooks of every app: the API's side ([`registry`]) and this instance's dispatcher.
pub struct Webhooks {
    store: Store,
    config: WebhookConfig,
    /// Wakes the dispatcher when the API changed something it should act on now.
    wake: Arc<Notify>,
    running: Mutex<Option<dispatch::Dispatcher>>,
}

impl Webhooks {
    pub fn new(store: Store, config: WebhookConfig) -> Webhooks {
        Webhooks {
            store,
            config,
            wake: Arc::new(Notify::new()),
            running: Mutex::new(None),
        }
    }

    /// Starts this instance's dispatcher (once).
    pub fn start(&self, metrics: Arc<Metrics>) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if running.is_none() {
            let shared =
                dispatch::Shared::new(self.store.clone(), self.config, metrics, self.wake.clone());
            match shared {
                Ok(shared) => *running = Some(dispatch::Dispatcher::start(shared)),
                // Only a TLS set-up this build cannot make: the API still registers
                // webhooks, and their deliveries wait for an instance that can send.
                Err(error) => tracing::error!(%error, "webhooks: no HTTP client; not delivering"),
            }
        }
    }

    /// Stops the dispatcher: attempts in flight are abandoned (they are tried again, by
    /// this instance or another, as unanswered ones), and the leases are released so that
    /// another instance need not wait for them to lapse.
    pub async fn stop(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(dispatcher) = running {
            dispatcher.stop().await;
        }
    }

    fn wake(&self) {
        self.wake.notify_waiters();
    }
}

/// The event types a webhook asks for, checked, without repeats, in [`EventType::ALL`]'s
/// order.
pub fn parse_event_types(names: &[String]) -> Result<Vec<EventType>, Refusal> {
    if names.is_empty() {
        return Err(Refusal::new(
            Code::EventTypesRequired,
            "a webhook needs at least one event type",
        ));
    }
    app_events::parse_types(names.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_checked_and_deduplicated() {
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let parsed = parse_event_types(&names(&["hold.held", "entry.completed", "hold.held"]));
        assert_eq!(
            parsed,
            Ok(vec![EventType::EntryCompleted, EventType::HoldHeld])
        );
        let unknown = parse_event_types(&names(&["entry.completed", "entry.exploded"]));
        assert_eq!(unknown.map_err(|r| r.code), Err(Code::UnknownEventType));
        let empty = parse_event_types(&[]);
        assert_eq!(empty.map_err(|r| r.code), Err(Code::EventTypesRequired));
    }
}
