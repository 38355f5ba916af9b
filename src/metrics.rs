//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Bucket bounds of the projection lag, in seconds: 1 ms to 1 min. A quantile is
/// interpolated within its bucket, so 10 ms to 100 ms, where a loaded bus mode's lag lies
/// and where its goal (a p99 of 50 ms) falls, is cut finely: with a 50–100 ms bucket a p99
/// of 55 ms and one of 95 ms read the same.
const LAG_BUCKETS: [f64; 21] = [
    0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.075, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Bucket bounds of a batch's duration, in seconds: 0.5 ms to 1 s.
const BATCH_SECONDS_BUCKETS: [f64; 11] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// Bucket bounds of webhook delivery lag, in seconds: 50 ms to a day (deliveries are
/// retried for a day).
const WEBHOOK_LAG_BUCKETS: [f64; 15] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0,
];

/// The webhook attempts counter's label: `outcome` = delivered, rejected, timeout,
/// unreachable.
pub type OutcomeLabel = [(&'static str, &'static str); 1];

/// The service's metrics. Handles are cheap clones of shared atomics.
pub struct Metrics {
    registry: Registry,
    /// From the commit of an entry's transaction to the commit of its projection.
    pub projection_lag: Histogram,
    /// Messages applied to the read model (including ones found already applied).
    pub projected: Counter,
    /// Commands per batch of the group commit.
    pub batch_commands: Histogram,
    /// From a batch's start to its answers: the writer's time per batch, its round trips
    /// to the event store included.
    pub batch_seconds: Histogram,
    /// Batches decided ahead, in the transaction of the batch before them, and written as
    /// decided.
    pub batches_ahead: Counter,
    /// Batches decided ahead that were read and decided again in their own transaction,
    /// because another connection committed in between.
    pub batches_again: Counter,
    /// Messages that can never be applied, kept in `rm_parked`.
    pub parked: Counter,
    /// Lot expiries this instance recorded.
    pub lots_expired: Counter,
    /// Lots this instance voided.
    pub lots_voided: Counter,
    /// Hold expiries this instance recorded.
    pub holds_expired: Counter,
    /// Open lots and holds past their expiry instant whose expiry is not recorded yet, as
    /// the recorder last saw them (at most one look's worth of each).
    pub expiry_backlog: Gauge,
    /// Messages in the outbox, not yet acknowledged by the bus (refreshed when scraped).
    pub outbox_backlog: Gauge,
    /// Messages of the durable consumer not yet delivered or not yet acknowledged
    /// (refreshed when scraped; 0 with the in-process bus).
    pub consumer_pending: Gauge,
    /// From an event's occurrence to its webhook receiver's 2xx.
    pub webhook_lag: Histogram,
    /// Webhook delivery attempts this instance made, by outcome.
    pub webhook_attempts: Family<OutcomeLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ledgerflow");
        let projection_lag = Histogram::new(LAG_BUCKETS);
        let projected = Counter::default();
        let batch_commands = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        let batch_seconds = Histogram::new(BATCH_SECONDS_BUCKETS);
        let batches_ahead = Counter::default();
        let batches_again = Counter::default();
        let parked = Counter::default();
        let lots_expired = Counter::default();
        let lots_voided = Counter::default();
        let holds_expired = Counter::default();
        let expiry_backlog = Gauge::default();
        let outbox_backlog = Gauge::default();
        let consumer_pending = Gauge::default();
        registry.register(
            "projection_lag_seconds",
            "Seconds from an entry's commit in the event store to its projection's commit",
            projection_lag.clone(),
        );
        registry.register(
            "projected_messages",
            "Messages applied to the read model",
            projected.clone(),
        );
        registry.register(
            "batch_commands",
            "Commands per batch of the group commit",
            batch_commands.clone(),
        );
        registry.register(
            "batch_seconds",
            "Seconds from a batch's start to its answers",
            batch_seconds.clone(),
        );
        registry.register(
            "batches_decided_ahead",
            "Batches decided in the transaction of the batch before them, and written so",
            batches_ahead.clone(),
        );
        registry.register(
            "batches_decided_again",
            "Batches decided ahead, then again in their own transaction: another connection had committed",
            batches_again.clone(),
        );
        registry.register(
            "parked_messages",
            "Messages that can never be applied, kept in rm_parked",
            parked.clone(),
        );
        registry.register(
            "lots_expired",
            "Lot expiries recorded by this instance",
            lots_expired.clone(),
        );
        registry.register(
            "lots_voided",
            "Lots voided through this instance",
            lots_voided.clone(),
        );
        registry.register(
            "holds_expired",
            "Hold expiries recorded by this instance",
            holds_expired.clone(),
        );
        registry.register(
            "expiry_backlog",
            "Open lots and holds past their expiry instant whose expiry is not recorded yet",
            expiry_backlog.clone(),
        );
        registry.register(
            "outbox_backlog",
            "Messages in the outbox, not yet acknowledged by the bus",
            outbox_backlog.clone(),
        );
        registry.register(
            "consumer_pending",
            "Messages of the projector's consumer not yet delivered or acknowledged",
            consumer_pending.clone(),
        );
        let webhook_lag = Histogram::new(WEBHOOK_LAG_BUCKETS);
        let webhook_attempts = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "webhook_delivery_lag_seconds",
            "Seconds from an event's occurrence to its webhook receiver's 2xx",
            webhook_lag.clone(),
        );
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts by outcome (delivered, rejected, timeout, unreachable)",
            webhook_attempts.clone(),
        );
        Metrics {
            registry,
            projection_lag,
            projected,
            batch_commands,
            batch_seconds,
            batches_ahead,
            batches_again,
            parked,
            lots_expired,
            lots_voided,
            holds_expired,
            expiry_backlog,
            outbox_backlog,
            consumer_pending,
            webhook_lag,
            webhook_attempts,
        }
    }
}

impl Metrics {
    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
