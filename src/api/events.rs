//! `GET /v1/events` (the feed) and `GET /v1/events/stream` (Server-Sent Events): the app's
//! events in `seq` order, resumable from the last one a client has.

use super::Ctx;
use super::accounts::{MAX_PAGE, owner};
use super::auth::AppKey;
use super::problem::ApiProblem;
use crate::apps::Apps;
use crate::ledger::Code;
use crate::ledger::app_events;
use crate::query::EventFilter;
use crate::time::to_rfc3339;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use poem::web::sse::Event;
use poem_openapi::param::{Header, Query};
use poem_openapi::payload::{EventStream, Json};
use poem_openapi::types::ToJSON;
use poem_openapi::{Object, OpenApi};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub struct EventsApi {
    pub ctx: Arc<Ctx>,
}

/// A stream sends a comment this often, so that proxies and clients see it alive.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// The most events a stream may start back from the newest.
const MAX_TAIL: u64 = 1_000;

/// An event: a change of the ledger, as it was at that change.
#[derive(Debug, Object)]
pub struct EventView {
    pub id: Uuid,
    /// Gap-free per app, in commit order: the feed's and the stream's cursor.
    pub seq: i64,
    /// `entry.completed`, `entry.failed`, `hold.held`, `hold.captured`, `hold.voided`,
    /// `hold.expired`, `lot.expired`, `lot.voided`, `account.frozen`, `account.unfrozen`,
    /// `account.closed`, `balance.low` or `balance.recovered`.
    #[oai(rename = "type")]
    pub event_type: String,
    pub app_id: Uuid,
    pub owner_id: String,
    pub occurred_at: String,
    /// The entity as the change left it (an entry, a hold, a lot, an account's status, or
    /// a monitor's reading).
    pub data: serde_json::Value,
}

impl From<entity::read::app_event::Model> for EventView {
    fn from(e: entity::read::app_event::Model) -> EventView {
        EventView {
            id: e.id,
            seq: e.seq,
            // Written by the ledger from a JSON value: text that does not parse back is
            // passed on as a string rather than lost.
            data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::String(e.data)),
            event_type: e.event_type,
            app_id: e.app_id,
            owner_id: e.owner_id,
            occurred_at: to_rfc3339(e.occurred_at),
        }
    }
}

/// A page of the feed.
#[derive(Debug, Object)]
pub struct EventPage {
    pub events: Vec<EventView>,
    /// Pass as `after` to get what follows. Store it with what you did with the events: a
    /// client that resumes from it never misses or repeats one.
    pub next_after: i64,
}

/// The filters the feed and the stream share.
fn filter(types: Option<String>, owner_id: Option<String>) -> Result<EventFilter, ApiProblem> {
    let names = types.iter().flat_map(|t| t.split(','));
    let wanted = app_events::parse_types(names)?;
    Ok(EventFilter {
        types: wanted.iter().map(|t| t.as_str().to_owned()).collect(),
        owner_id: owner_id
            .map(owner)
            .transpose()?
            .map(|o| o.as_str().to_owned()),
    })
}

/// A cursor: a `seq`, 0 or more.
fn cursor(after: Option<i64>) -> Result<i64, ApiProblem> {
    match after {
        Some(seq) if seq < 0 => Err(ApiProblem::new(
            Code::InvalidCursor,
            "after must be an event's seq (0 or more)",
        )),
        seq => Ok(seq.unwrap_or(0)),
    }
}

/// Resolves once `key_id` is found revoked, checked with each heartbeat: a stream outlives
/// its key by at most that long. A failed check is not a revocation.
async fn revoked(apps: Arc<Apps>, key_id: Uuid) {
    loop {
        tokio::time::sleep(HEARTBEAT).await;
        if let Ok(false) = apps.key_live(key_id).await {
            return;
        }
    }
}

impl EventsApi {
    /// Where a new stream starts: after `after`, or `tail` events before the newest.
    async fn start(
        &self,
        app: Uuid,
        after: Option<i64>,
        tail: Option<u64>,
    ) -> Result<i64, ApiProblem> {
        let Some(tail) = tail else {
            return cursor(after);
        };
        if after.is_some() {
            return Err(ApiProblem::new(
                Code::InvalidCursor,
                "give after or tail, not both",
            ));
        }
        if !(1..=MAX_TAIL).contains(&tail) {
            return Err(ApiProblem::new(
                Code::InvalidLimit,
                format!("tail must be between 1 and {MAX_TAIL}"),
            ));
        }
        let newest = self.ctx.queries.newest_event(app).await?;
        Ok(newest.saturating_sub(tail as i64).max(0))
    }
}

#[OpenApi(prefix_path = "/v1", tag = "super::Tag::Events")]
impl EventsApi {
    /// Read the event feed
    ///
    /// The app's events after `after`, oldest first, up to `limit`. Pass `next_after` back
    /// as `after` for the next page: nothing is missed or repeated, across restarts of
    /// either side. Events are kept for the retention (30 days unless configured).
    #[oai(path = "/events", method = "get")]
    async fn feed(
        &self,
        auth: AppKey,
        /// The last `seq` you have; 0 or left out: from the oldest kept.
        after: Query<Option<i64>>,
        /// Page size, 1 to 200; 100 when left out.
        limit: Query<Option<u64>>,
        /// Comma-separated event types; all when left out.
        types: Query<Option<String>>,
        /// Only this owner's events.
        owner_id: Query<Option<String>>,
    ) -> Result<Json<EventPage>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let limit = limit.0.unwrap_or(100);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiProblem::new(
                Code::InvalidLimit,
                format!("limit must be between 1 and {MAX_PAGE}"),
            ));
        }
        let filter = filter(types.0, owner_id.0)?;
        let page = self
            .ctx
            .queries
            .feed(app.id, cursor(after.0)?, limit, &filter)
            .await?;
        Ok(Json(EventPage {
            events: page.events.into_iter().map(EventView::from).collect(),
            next_after: page.next_after,
        }))
    }

    /// Stream events
    ///
    /// Server-Sent Events: each message is one event, with `id: <seq>`, `event: <type>` and
    /// `data: <the event as JSON>`. A comment is sent every 15 s. Reconnect with
    /// `Last-Event-ID` (or `after`) to resume after the last event you have; `tail` starts
    /// near the end instead of at the oldest kept event. A stream whose key is revoked ends
    /// by its next heartbeat.
    #[oai(path = "/events/stream", method = "get")]
    async fn stream(
        &self,
        auth: AppKey,
        /// The last `seq` you have; `Last-Event-ID` wins when both are sent.
        after: Query<Option<i64>>,
        /// Comma-separated event types; all when left out.
        types: Query<Option<String>>,
        /// Only this owner's events.
        owner_id: Query<Option<String>>,
        /// Start after the app's newest events but this many (1 to 1,000, counted before
        /// the filters), instead of at the oldest kept; not with `after`.
        tail: Query<Option<u64>>,
        #[oai(name = "Last-Event-ID")] last_event_id: Header<Option<String>>,
    ) -> Result<EventStream<BoxStream<'static, EventView>>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let filter = filter(types.0, owner_id.0)?;
        let start = match last_event_id.0 {
            None => self.start(app.id, after.0, tail.0).await?,
            Some(text) => cursor(Some(text.parse::<i64>().map_err(|_| {
                ApiProblem::new(
                    Code::InvalidCursor,
                    "Last-Event-ID must be the id of an event this stream sent",
                )
            })?))?,
        };
        let subscription = self.ctx.queries.subscribe(app.id, start, filter);
        let events = stream::unfold(subscription, |mut s| async move {
            match s.next().await {
                Ok(events) if events.is_empty() => None,
                Ok(events) => Some((events, s)),
                Err(e) => {
                    // The client reconnects with the last id it has; nothing is lost.
                    tracing::warn!(error = %e, "an event stream ends: its read failed");
                    None
                }
            }
        })
        .flat_map(|events| stream::iter(events.into_iter().map(EventView::from)))
        .take_until(revoked(self.ctx.apps.clone(), auth.unchecked()?.key_id))
        .boxed();
        Ok(EventStream::new(events)
            .keep_alive(HEARTBEAT)
            .to_event(|e: EventView| {
                let id = e.seq.to_string();
                let event_type = e.event_type.clone();
                Event::message(e.to_json_string())
                    .id(id)
                    .event_type(event_type)
            }))
    }
}
