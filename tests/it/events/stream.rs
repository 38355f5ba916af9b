//! The event stream (Server-Sent Events): a subscriber that drops mid-load and comes back
//! with `Last-Event-ID` sees exactly the feed's sequence; a quiet stream sends heartbeats.

use super::{load, read_feed};
use crate::common::{Backend, TestApp};
use serde_json::Value;
use std::time::Duration;

on_both_backends!(a_subscriber_that_reconnects_sees_exactly_the_feed,);

/// One message of a stream: its `id`, `event` and `data`, or a comment.
#[derive(Debug, Clone, PartialEq)]
enum Frame {
    Event { id: i64, event: String, data: Value },
    Comment,
}

/// An open stream, read frame by frame.
struct Stream {
    resp: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(app: &TestApp, key: &str, query: &str, last_id: Option<i64>) -> Stream {
        let mut req = app
            .client
            .get(app.url(&format!("/v1/events/stream?{query}")))
            .bearer_auth(key);
        if let Some(id) = last_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        let resp = req.send().await.expect("the stream opens");
        assert_eq!(resp.status(), 200);
        let kind = resp.headers().get("content-type").cloned();
        assert_eq!(
            kind.as_ref().and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
        Stream {
            resp,
            buffer: String::new(),
        }
    }

    /// The next frame, within `wait`.
    async fn next(&mut self, wait: Duration) -> Frame {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                return parse(&frame);
            }
            let chunk = tokio::time::timeout(wait, self.resp.chunk())
                .await
                .expect("a frame in time")
                .expect("the stream reads")
                .expect("the stream stays open");
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }

    /// The next `n` events, skipping comments.
    async fn events(&mut self, n: usize) -> Vec<Value> {
        let mut events = Vec::new();
        while events.len() < n {
            if let Frame::Event { id, event, data } = self.next(Duration::from_secs(30)).await {
                assert_eq!(data["seq"].as_i64(), Some(id), "the id is the seq");
                assert_eq!(data["type"].as_str(), Some(event.as_str()));
                events.push(data);
            }
        }
        events
    }
}

fn parse(frame: &str) -> Frame {
    let (mut id, mut event, mut data) = (None, None, String::new());
    for line in frame.lines() {
        if line.starts_with(':') {
            continue;
        }
        match line.split_once(':') {
            Some(("id", v)) => id = v.trim().parse().ok(),
            Some(("event", v)) => event = Some(v.trim().to_owned()),
            Some(("data", v)) => data.push_str(v.strip_prefix(' ').unwrap_or(v)),
            _ => {}
        }
    }
    match (id, event) {
        (Some(id), Some(event)) => Frame::Event {
            id,
            event,
            data: serde_json::from_str(&data).expect("data is JSON"),
        },
        _ => Frame::Comment,
    }
}

/// The first `n` events of `key`'s app on a new stream with `query`.
pub async fn collect(app: &TestApp, key: &str, query: &str, n: usize) -> Vec<Value> {
    Stream::open(app, key, query, None).await.events(n).await
}

async fn a_subscriber_that_reconnects_sees_exactly_the_feed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut first = Stream::open(&app, &app.key, "", None).await;
    let writing = load(&app, &app.key, 600, 20);
    let reading = async {
        let mut seen = first.events(150).await;
        drop(first);
        let last = seen.last().and_then(|e| e["seq"].as_i64());
        let mut second = Stream::open(&app, &app.key, "", last).await;
        seen.extend(second.events(450).await);
        seen
    };
    let (_, streamed) = tokio::join!(writing, reading);
    app.projected().await;
    let feed = read_feed(&app, &app.key, 0, 100, "").await;
    assert_eq!(feed.len(), 600);
    assert_eq!(streamed, feed, "the stream's sequence is the feed's");

    // A filtered stream from a cursor: only that owner's, after it.
    let theirs: Vec<Value> = feed
        .iter()
        .filter(|e| e["owner_id"] == "u7" && e["seq"].as_i64() > Some(100))
        .cloned()
        .collect();
    let filtered = collect(&app, &app.key, "owner_id=u7&after=100", theirs.len()).await;
    assert_eq!(filtered, theirs);
}

#[tokio::test]
async fn a_tail_starts_that_many_events_before_the_newest() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    load(&app, &app.key, 30, 3).await;
    app.projected().await;
    let feed = read_feed(&app, &app.key, 0, 100, "").await;
    let newest = feed.last().and_then(|e| e["seq"].as_i64()).expect("events");
    let tail = collect(&app, &app.key, "tail=5", 5).await;
    assert_eq!(tail, feed[feed.len() - 5..], "the last five, in order");
    assert_eq!(tail[4]["seq"].as_i64(), Some(newest));
    // More than there are: from the oldest kept.
    let all = collect(&app, &app.key, "tail=1000", feed.len()).await;
    assert_eq!(all, feed);
    // A reconnect's Last-Event-ID wins over the tail of the URL it reuses.
    let mut again = Stream::open(&app, &app.key, "tail=5", Some(newest - 2)).await;
    assert_eq!(again.events(2).await, feed[feed.len() - 2..]);
}

#[tokio::test]
async fn a_stream_ends_by_its_next_heartbeat_once_its_key_is_revoked() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut stream = Stream::open(&app, &app.key, "", None).await;
    app.ctx.apps.revoke(&app.name, None).await.expect("revoked");
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(_)) = stream.resp.chunk().await {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the stream is still open 20 s after its key was revoked"
    );
    let again = app
        .client
        .get(app.url("/v1/events/stream"))
        .bearer_auth(&app.key)
        .send()
        .await
        .expect("sent");
    assert_eq!(again.status(), 401);
}

#[tokio::test]
async fn a_quiet_stream_sends_a_heartbeat_comment() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut stream = Stream::open(&app, &app.key, "", None).await;
    assert_eq!(stream.next(Duration::from_secs(17)).await, Frame::Comment);
}

#[tokio::test]
async fn a_stream_refuses_what_the_feed_refuses_before_it_starts() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let get = |query: &'static str, last_id: Option<&'static str>| {
        let mut req = app
            .client
            .get(app.url(&format!("/v1/events/stream?{query}")))
            .bearer_auth(&app.key);
        if let Some(id) = last_id {
            req = req.header("Last-Event-ID", id);
        }
        async move { TestApp::read(req.send().await.expect("sent")).await }
    };
    let unknown = get("types=entry.done", None).await;
    assert_eq!(
        (unknown.status.as_u16(), unknown.body["code"].as_str()),
        (422, Some("unknown_event_type"))
    );
    let bad_id = get("", Some("seven")).await;
    assert_eq!(
        (bad_id.status.as_u16(), bad_id.body["code"].as_str()),
        (400, Some("invalid_cursor"))
    );
    let negative = get("after=-3", None).await;
    assert_eq!(
        (negative.status.as_u16(), negative.body["code"].as_str()),
        (400, Some("invalid_cursor"))
    );
    let both = get("after=3&tail=5", None).await;
    assert_eq!(
        (both.status.as_u16(), both.body["code"].as_str()),
        (400, Some("invalid_cursor"))
    );
    for tail in ["tail=0", "tail=1001"] {
        let refused = get(tail, None).await;
        assert_eq!(
            (refused.status.as_u16(), refused.body["code"].as_str()),
            (400, Some("invalid_limit")),
            "{tail}"
        );
    }
    let keyless = app
        .client
        .get(app.url("/v1/events/stream"))
        .send()
        .await
        .expect("sent");
    assert_eq!(keyless.status(), 401);
}
