//! Following an app's events as they are projected, for the event stream.
//!
//! One reader per app with subscribers (a [`Tail`]) wakes when a projection commits, reads
//! the events after the last one it saw, and hands the new run to every subscriber through
//! a broadcast channel: a thousand streams of one app cost one query per projection, not a
//! thousand. A subscriber ([`Subscription`]) first catches up from the feed on its own, and
//! goes back to the feed whenever what it is handed does not follow what it has (it joined
//! late, or fell more than the channel's capacity behind). The feed is the truth; the
//! broadcast only saves queries. So a subscriber never skips or repeats an event, whatever
//! the timing.

use super::feed::{EventFilter, unbroken};
use super::wake::SAFETY_NET;
use super::{QueryError, ReadModel};
use entity::read::app_event;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::broadcast;
use uuid::Uuid;

/// Runs of events kept for subscribers that are slow to take them.
const CAPACITY: usize = 64;
/// Most events one read takes.
const PAGE: u64 = 500;

type Run = Arc<Vec<app_event::Model>>;

/// The apps' tails, each alive while some subscriber holds it. Cheap to clone.
#[derive(Clone, Default)]
pub struct Tails {
    apps: Arc<Mutex<HashMap<Uuid, Weak<Tail>>>>,
}

/// The reader of one app's new events.
struct Tail {
    runs: broadcast::Sender<Run>,
}

impl Tails {
    /// Follows `app`'s events after `after` that `filter` keeps.
    pub fn subscribe(
        &self,
        read: &ReadModel,
        app: Uuid,
        after: i64,
        filter: EventFilter,
    ) -> Subscription {
        let tail = self.tail(read, app, after);
        Subscription {
            read: read.clone(),
            app,
            last: after,
            filter,
            runs: tail.runs.subscribe(),
            _tail: tail,
            caught_up: false,
        }
    }

    /// `app`'s tail, started at `after` if there is none.
    fn tail(&self, read: &ReadModel, app: Uuid, after: i64) -> Arc<Tail> {
        let mut apps = self.apps.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tail) = apps.get(&app).and_then(Weak::upgrade) {
            return tail;
        }
        let (runs, _) = broadcast::channel(CAPACITY);
        let tail = Arc::new(Tail { runs });
        apps.insert(app, Arc::downgrade(&tail));
        tokio::spawn(follow(read.clone(), app, after, Arc::downgrade(&tail)));
        tail
    }
}

/// Reads `app`'s new events after each projection and hands them on, for as long as
/// someone holds the tail.
async fn follow(read: ReadModel, app: Uuid, mut last: i64, tail: Weak<Tail>) {
    let mut changes = read.changes();
    let all = EventFilter::default();
    loop {
        let deadline = tokio::time::Instant::now() + SAFETY_NET;
        super::wake::wait_for_change(&mut changes, deadline).await;
        let Some(tail) = tail.upgrade() else {
            return;
        };
        loop {
            match read.feed(app, last, PAGE, &all).await {
                Ok(page) if page.events.is_empty() => break,
                Ok(page) => {
                    last = page.next_after;
                    // Nobody listening right now is fine: subscribers read the feed.
                    let _ = tail.runs.send(Arc::new(page.events));
                }
                Err(e) => {
                    tracing::warn!(error = %e, %app, "reading new events failed; again soon");
                    break;
                }
            }
        }
    }
}

/// One subscriber's position in an app's events.
pub struct Subscription {
    read: ReadModel,
    app: Uuid,
    /// The last `seq` handed out or passed over by the filter.
    last: i64,
    filter: EventFilter,
    runs: broadcast::Receiver<Run>,
    _tail: Arc<Tail>,
    /// Whether the feed had nothing more at the last look.
    caught_up: bool,
}

impl Subscription {
    /// The next events, in order, waiting for them if there are none yet.
    pub async fn next(&mut self) -> Result<Vec<app_event::Model>, QueryError> {
        loop {
            if !self.caught_up {
                let page = self
                    .read
                    .feed(self.app, self.last, PAGE, &self.filter)
                    .await?;
                self.caught_up = page.next_after == self.last;
                self.last = page.next_after;
                if !page.events.is_empty() {
                    return Ok(page.events);
                }
                continue;
            }
            match self.runs.recv().await {
                Ok(run) => {
                    if let Some(events) = self.take(&run) {
                        if !events.is_empty() {
                            return Ok(events);
                        }
                    } else {
                        self.caught_up = false;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => self.caught_up = false,
                Err(broadcast::error::RecvError::Closed) => self.caught_up = false,
            }
        }
    }

    /// What of `run` follows `last` and the filter keeps; `None` when `run` starts after
    /// a gap (the feed has what is missing).
    fn take(&mut self, run: &[app_event::Model]) -> Option<Vec<app_event::Model>> {
        let fresh: Vec<app_event::Model> =
            run.iter().filter(|e| e.seq > self.last).cloned().collect();
        let fresh = unbroken(self.last, fresh);
        match fresh.last() {
            None if run.last().is_some_and(|e| e.seq > self.last) => None,
            None => Some(Vec::new()),
            Some(last) => {
                self.last = last.seq;
                Some(
                    fresh
                        .into_iter()
                        .filter(|e| self.filter.admits(e))
                        .collect(),
                )
            }
        }
    }
}
