//! NATS JetStream: the bus between the outbox relay and the projector in the distributed
//! mode. It knows messages as `(Nats-Msg-Id, body)` pairs, not outbox rows.
//!
//! Stream `<stream>` holds subjects `<subject>.>`; entry messages go to `<subject>.entries`.
//! Publishes carry `Nats-Msg-Id`, so the stream drops a re-publish within its duplicate
//! window; past it, the projector's own idempotence makes a duplicate harmless.

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::stream::{RetentionPolicy, StorageType};
use async_nats::jetstream::{self, message::PublishMessage};
use std::time::Duration;

/// How long the stream keeps messages. The event store is the record; the stream only
/// needs to hold what the projector has not applied yet, with room for a long outage.
const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Redelivery of a message that was not acknowledged (the projector died with it). A
/// batch is applied in well under a second; a redelivery to a projector that is merely
/// slow is harmless (it finds the message applied).
const ACK_WAIT: Duration = Duration::from_secs(10);

/// What a message's headers may take of the server's payload limit.
const HEADER_ROOM: usize = 4096;

#[derive(Debug, thiserror::Error)]
#[error("NATS: {0}")]
pub struct BusError(String);

impl BusError {
    pub fn new(e: impl std::fmt::Display) -> BusError {
        BusError(e.to_string())
    }
}

/// Where the bus is and what its stream and consumer are called.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    pub url: String,
    pub stream: String,
    pub subject: String,
    pub consumer: String,
}

/// A JetStream connection. Cheap to clone.
#[derive(Clone)]
pub struct Nats {
    js: jetstream::Context,
    config: NatsConfig,
}

impl Nats {
    /// Connects in the background: the service starts (and keeps taking writes into the
    /// outbox) while NATS is down, and the client reconnects whenever it comes back.
    pub async fn connect(config: NatsConfig) -> Result<Nats, BusError> {
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(2))
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((100 * attempts as u64).min(2_000))
            })
            .connect(config.url.as_str())
            .await
            .map_err(BusError::new)?;
        Ok(Nats {
            js: jetstream::new(client),
            config,
        })
    }

    /// The connection as the client sees it now: `connected`, `disconnected` or
    /// `connecting`.
    pub fn state(&self) -> &'static str {
        match self.js.client().connection_state() {
            async_nats::connection::State::Connected => "connected",
            async_nats::connection::State::Disconnected => "disconnected",
            async_nats::connection::State::Pending => "connecting",
        }
    }

    pub fn config(&self) -> &NatsConfig {
        &self.config
    }

    /// Creates the stream, or reconciles an existing one with this configuration.
    pub async fn ensure_stream(&self) -> Result<(), BusError> {
        self.js
            .create_or_update_stream(jetstream::stream::Config {
                name: self.config.stream.clone(),
                subjects: vec![format!("{}.>", self.config.subject)],
                storage: StorageType::File,
                retention: RetentionPolicy::Limits,
                max_age: RETENTION,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .map_err(BusError::new)?;
        Ok(())
    }

    /// Creates the projector's durable pull consumer, or reconciles it. Redelivery is
    /// unlimited (`max_deliver` −1): JetStream would silently drop a message after
    /// `max_deliver`; a message that can never be applied is parked by the projector instead.
    pub async fn consumer(&self) -> Result<PullConsumer, BusError> {
        self.js
            .create_consumer_on_stream(
                pull::Config {
                    durable_name: Some(self.config.consumer.clone()),
                    deliver_policy: DeliverPolicy::All,
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: ACK_WAIT,
                    max_deliver: -1,
                    max_ack_pending: 10_000,
                    filter_subject: format!("{}.>", self.config.subject),
                    ..Default::default()
                },
                self.config.stream.as_str(),
            )
            .await
            .map_err(BusError::new)
    }

    /// The most payload one bus message may carry: the server's limit less room for the
    /// headers (`Nats-Msg-Id`).
    pub fn max_payload(&self) -> usize {
        self.js.client().max_payload().saturating_sub(HEADER_ROOM)
    }

    /// Publishes `messages` (`(Nats-Msg-Id, body)`, in order) and waits for the stream's
    /// acknowledgements. Returns, per message, whether the stream has it (stored now, or
    /// recognised as a duplicate). After a failed publish the rest are not sent.
    pub async fn publish(&self, messages: &[(&str, &str)]) -> Vec<bool> {
        let subject = format!("{}.entries", self.config.subject);
        let mut pending = Vec::new();
        for (i, &(id, body)) in messages.iter().enumerate() {
            let message = PublishMessage::build()
                .payload(body.to_owned().into())
                .message_id(id);
            match self.js.send_publish(subject.clone(), message).await {
                Ok(ack) => pending.push((i, ack)),
                Err(e) => {
                    tracing::warn!(error = %e, "publish failed; the outbox keeps the rest");
                    break;
                }
            }
        }
        // Awaited together: each ack's timeout starts when it is awaited, so awaiting them
        // one by one after a lost connection would stall the relay for N timeouts.
        let (sent, acks): (Vec<usize>, Vec<_>) = pending.into_iter().unzip();
        let results =
            futures::future::join_all(acks.into_iter().map(IntoFuture::into_future)).await;
        let mut acked = vec![false; messages.len()];
        for (i, result) in sent.into_iter().zip(results) {
            match result {
                Ok(_) => acked[i] = true,
                Err(e) => {
                    tracing::warn!(id = %messages[i].0, error = %e, "no publish ack; the outbox keeps it")
                }
            }
        }
        acked
    }

    /// Messages of the consumer not yet delivered plus those delivered and not acknowledged.
    pub async fn pending(&self) -> Result<u64, BusError> {
        let mut consumer: PullConsumer = self
            .js
            .get_consumer_from_stream(&self.config.consumer, &self.config.stream)
            .await
            .map_err(BusError::new)?;
        let info = consumer.info().await.map_err(BusError::new)?;
        Ok(info.num_pending + info.num_ack_pending as u64)
    }
}
