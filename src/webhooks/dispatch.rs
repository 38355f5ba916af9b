//! The dispatcher of one instance: a scan that finds the active webhooks whose lease is free
//! or its own, and a task per webhook it holds. A webhook's task renews the lease, fans the
//! app's new events out into deliveries, and sends each owner's first due delivery, a wave
//! of at most [`WAVE`] owners at once. A wave starts right after a renewal and is cut if it
//! outlasts the lease (less a margin), so this instance never sends once another may have
//! taken the webhook over; an attempt cut or lost in a crash is simply sent again.

use super::attempt::{self, Recorded};
use super::registry::ACTIVE;
use super::{REQUEST_TIMEOUT, WebhookConfig, fanout, lease, policy, queue};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::time::now_micros;
use entity::{webhook, webhook_delivery};
use futures::StreamExt;
use reqwest::Client;
use sea_orm::EntityTrait;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

/// The most owners of one webhook sent to at once: a wave costs three write transactions
/// (the lease, the fan-out, the record) whatever its size, so a wide one amortizes them.
const WAVE: usize = 64;

/// The longest a task trusts what it last saw of its pending deliveries: a retry asked of
/// another instance's API changes them without waking this one.
const LOOK_AGAIN: Duration = Duration::from_secs(1);

/// What the scan and the webhooks' tasks share.
pub struct Shared {
    store: Store,
    config: WebhookConfig,
    metrics: Arc<Metrics>,
    wake: Arc<Notify>,
    /// This instance's name in leases: new at each start, so a restart waits for the
    /// leases of its previous life to lapse (or finds them released).
    instance: Uuid,
    client: Client,
}

impl Shared {
    pub fn new(
        store: Store,
        config: WebhookConfig,
        metrics: Arc<Metrics>,
        wake: Arc<Notify>,
    ) -> Result<Shared, reqwest::Error> {
        Ok(Shared {
            client: client(&config)?,
            store,
            config,
            metrics,
            wake,
            instance: Uuid::new_v4(),
        })
    }

    /// The part of a lease this instance does not use, for clocks that disagree and
    /// writes that take time.
    fn margin(&self) -> Duration {
        self.config.lease / 5
    }
}

/// The delivery client: no redirects (a 3xx is a failed attempt, and following one could
/// lead to an address the policy refuses), no proxy, and unless private addresses are
/// allowed, a resolver that drops them.
fn client(config: &WebhookConfig) -> Result<Client, reqwest::Error> {
    // reqwest's rustls is built without a provider of its own (aws-lc-rs needs cmake):
    // ring, which rustls already has. Installed once per process; a second call only
    // reports that one is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // A wave may use four fifths of a lease; an attempt ends within three, so that it is
    // recorded (with its backoff) before the wave's end cuts it.
    let builder = Client::builder()
        .timeout(REQUEST_TIMEOUT.min(config.lease * 3 / 5))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("ledgerflow-webhooks/", env!("CARGO_PKG_VERSION")));
    let builder = match config.allow_private {
        true => builder,
        false => builder.dns_resolver(policy::PublicOnly),
    };
    builder.build()
}

/// A running dispatcher.
pub struct Dispatcher {
    stop: watch::Sender<bool>,
    scan: JoinHandle<()>,
}

impl Dispatcher {
    pub fn start(shared: Shared) -> Dispatcher {
        let (stop, stopped) = watch::channel(false);
        let scan = tokio::spawn(scan(Arc::new(shared), stopped));
        Dispatcher { stop, scan }
    }

    /// Stops every task and waits for them (each releases its lease).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.scan.await;
    }
}

/// Resolves when the dispatcher is told to stop (or its handle is gone).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Finds the webhooks this instance may take and gives each a task, until stopped.
async fn scan(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let every = (shared.config.lease / 3).max(Duration::from_millis(100));
    let mut tasks: HashMap<Uuid, JoinHandle<()>> = HashMap::new();
    loop {
        tasks.retain(|_, task| !task.is_finished());
        match lease::takeable(&shared.store, shared.instance).await {
            Ok(ids) => {
                for id in ids {
                    tasks
                        .entry(id)
                        .or_insert_with(|| tokio::spawn(deliver(shared.clone(), id, stop.clone())));
                }
            }
            Err(error) => tracing::warn!(%error, "webhooks: cannot look for webhooks"),
        }
        let woken = shared.wake.notified();
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = woken => {}
            _ = stopping(&mut stop) => break,
        }
    }
    for (_, task) in tasks {
        let _ = task.await;
    }
}

/// One webhook's task: delivers while this instance holds its lease and it is active.
async fn deliver(shared: Arc<Shared>, id: Uuid, mut stop: watch::Receiver<bool>) {
    let mut worker = Worker {
        shared: shared.clone(),
        id,
        renewed: None,
        due_at: Some(now_micros()),
        looked: Instant::now(),
    };
    loop {
        let turn = tokio::select! {
            turn = worker.turn() => turn,
            _ = stopping(&mut stop) => Turn::Stop,
        };
        match turn {
            Turn::Again => {}
            Turn::Idle(wait) => {
                let woken = shared.wake.notified();
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = woken => worker.due_at = Some(now_micros()),
                    _ = stopping(&mut stop) => break,
                }
            }
            Turn::Lost => return,
            Turn::Stop => break,
        }
    }
    if let Err(error) = lease::release(&shared.store, id, shared.instance).await {
        tracing::warn!(%error, webhook = %id, "webhooks: cannot release a lease");
    }
}

/// What a webhook's task does after a turn.
enum Turn {
    /// Go on at once: something was done, more may be waiting.
    Again,
    /// Nothing to do for this long, unless woken.
    Idle(Duration),
    /// The lease is another instance's, or the webhook is gone or disabled.
    Lost,
    Stop,
}

struct Worker {
    shared: Arc<Shared>,
    id: Uuid,
    /// When the lease was last taken or renewed, and the instant this instance stops using
    /// it.
    renewed: Option<(Instant, Instant)>,
    /// When an owner's first pending delivery is next due (µs), as last seen; `None`
    /// when none is pending.
    due_at: Option<i64>,
    /// When the pending deliveries were last looked at.
    looked: Instant,
}

impl Worker {
    /// Takes or renews the lease; the webhook as it is now, if still this instance's.
    async fn renew(&mut self) -> Option<webhook::Model> {
        let shared = &self.shared;
        let asked = Instant::now();
        match lease::take(&shared.store, self.id, shared.instance, shared.config.lease).await {
            Ok(Some(hook)) => {
                let until = asked + shared.config.lease - shared.margin();
                self.renewed = Some((asked, until));
                Some(hook)
            }
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, webhook = %self.id, "webhooks: cannot renew a lease");
                None
            }
        }
    }

    async fn turn(&mut self) -> Turn {
        let shared = self.shared.clone();
        let poll = shared.config.poll;
        let renew_every = shared.config.lease / 3;
        let stale = self
            .renewed
            .is_none_or(|(at, _)| at.elapsed() >= renew_every);
        let hook = match stale {
            true => self.renew().await,
            false => match webhook::Entity::find_by_id(self.id)
                .one(shared.store.conn())
                .await
            {
                Ok(found) => found.filter(|h| h.state == ACTIVE),
                Err(error) => {
                    tracing::warn!(%error, "webhooks: cannot read a webhook");
                    return Turn::Idle(poll);
                }
            },
        };
        let Some(hook) = hook else {
            return Turn::Lost;
        };
        match fanout::fan_out(&shared.store, &hook).await {
            Ok(0) => {}
            Ok(_) => self.due_at = Some(now_micros()),
            Err(error) => tracing::warn!(%error, "webhooks: cannot fan events out"),
        }
        let now = now_micros();
        let fresh = self.looked.elapsed() < LOOK_AGAIN;
        if fresh && self.due_at.is_none_or(|due| due > now) {
            let wait = self.due_at.map_or(poll, |due| {
                Duration::from_micros(u64::try_from(due - now).unwrap_or(0))
            });
            return Turn::Idle(wait.min(poll));
        }
        self.looked = Instant::now();
        let (due, next) = match queue::heads(&shared.store, self.id, now, WAVE).await {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!(%error, "webhooks: cannot read deliveries");
                return Turn::Idle(poll);
            }
        };
        self.due_at = next;
        if due.is_empty() {
            return Turn::Again;
        }
        self.wave(due).await
    }

    /// Sends `due` at once, right after renewing the lease, and records each outcome.
    async fn wave(&mut self, due: Vec<webhook_delivery::Model>) -> Turn {
        let Some(hook) = self.renew().await else {
            return Turn::Lost;
        };
        let Some((_, until)) = self.renewed else {
            return Turn::Lost;
        };
        let shared = self.shared.clone();
        let sends = futures::stream::iter(due)
            .map(|delivery| async {
                let allow = shared.config.allow_private;
                let outcome = attempt::send(&shared.client, &hook, &delivery, allow).await;
                (delivery, outcome)
            })
            .buffer_unordered(WAVE)
            .collect::<Vec<_>>();
        let Ok(sent) = tokio::time::timeout_at(until, sends).await else {
            tracing::warn!(webhook = %self.id, "webhooks: a wave outlasted the lease; cut");
            // What was cut is pending and due: it is sent again at once.
            self.due_at = Some(now_micros());
            return Turn::Again;
        };
        let (store, backoff) = (&shared.store, &shared.config.backoff);
        match attempt::record_all(store, &sent, backoff, &shared.metrics).await {
            Ok(recorded) if recorded.contains(&Recorded::GaveUp) => Turn::Lost,
            Ok(_) => {
                self.due_at = Some(now_micros());
                Turn::Again
            }
            Err(error) => {
                // Unrecorded attempts stay pending and due: they are sent again.
                tracing::warn!(%error, "webhooks: cannot record a wave's attempts");
                Turn::Idle(shared.config.poll)
            }
        }
    }
}
