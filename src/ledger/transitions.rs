//! How a list holds an entry's transitions: an entry row's `events`, an `entry_events`
//! row's `earlier`, the read model's `rm_entries.events`, and the bus message's `events`.

use entity::entry_event;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// One transition as a list holds it, without its entry's id (the row's or the message's),
/// as an array: `[seq, state, at]`, or `[seq, state, at, failure_code, failure_detail]` for
/// one with a failure. Field names repeated in every transition were most of an entry
/// row's bytes. Lists written before held objects (`{seq, state, at, …}`, or whole models
/// in `rm_entries`), and read the same. Read by its own visitor: serde's untagged enums
/// first copy each value into an intermediate tree, for every transition of every entry
/// and bus message read.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Listed {
    Plain(i32, String, i64),
    Failed(i32, String, i64, Option<String>, Option<String>),
    Object(ListedObject),
}

impl<'de> Deserialize<'de> for Listed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Listed, D::Error> {
        d.deserialize_any(ListedVisitor)
    }
}

struct ListedVisitor;

impl<'de> Visitor<'de> for ListedVisitor {
    type Value = Listed;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a transition: [seq, state, at] or [seq, state, at, code, detail], or an object",
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Listed, A::Error> {
        let missing = |n| de::Error::invalid_length(n, &ListedVisitor);
        let number = seq.next_element()?.ok_or_else(|| missing(0))?;
        let state = seq.next_element()?.ok_or_else(|| missing(1))?;
        let at = seq.next_element()?.ok_or_else(|| missing(2))?;
        let Some(code) = seq.next_element::<Option<String>>()? else {
            return Ok(Listed::Plain(number, state, at));
        };
        let detail = seq.next_element()?.ok_or_else(|| missing(4))?;
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(6, &ListedVisitor));
        }
        Ok(Listed::Failed(number, state, at, code, detail))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Listed, A::Error> {
        ListedObject::deserialize(MapAccessDeserializer::new(map)).map(Listed::Object)
    }
}

/// A transition as lists held it before [`Listed`]'s arrays.
#[derive(Serialize, Deserialize)]
pub struct ListedObject {
    seq: i32,
    state: String,
    at: i64,
    #[serde(default)]
    failure_code: Option<String>,
    #[serde(default)]
    failure_detail: Option<String>,
}

impl Listed {
    /// How a list holds `e`.
    pub fn of(e: &entry_event::Model) -> Listed {
        match (&e.failure_code, &e.failure_detail) {
            (None, None) => Listed::Plain(e.seq, e.state.clone(), e.at),
            (code, detail) => {
                Listed::Failed(e.seq, e.state.clone(), e.at, code.clone(), detail.clone())
            }
        }
    }

    /// The transition of entry `entry_id` this holds.
    pub fn into_model(self, entry_id: Uuid) -> entry_event::Model {
        let (seq, state, at, failure_code, failure_detail) = match self {
            Listed::Plain(seq, state, at) => (seq, state, at, None, None),
            Listed::Failed(seq, state, at, code, detail) => (seq, state, at, code, detail),
            Listed::Object(o) => (o.seq, o.state, o.at, o.failure_code, o.failure_detail),
        };
        entry_event::Model {
            entry_id,
            seq,
            state,
            at,
            failure_code,
            failure_detail,
            earlier: None,
        }
    }
}

/// Transitions of one entry as a list holds them.
pub fn list<'a>(
    events: impl IntoIterator<Item = &'a entry_event::Model>,
) -> Result<String, serde_json::Error> {
    let listed: Vec<Listed> = events.into_iter().map(Listed::of).collect();
    serde_json::to_string(&listed)
}

/// The transitions of entry `entry_id` that `text` (written by [`list`], or in one of the
/// forms before it) holds.
pub fn unlist(text: &str, entry_id: Uuid) -> Result<Vec<entry_event::Model>, serde_json::Error> {
    let listed: Vec<Listed> = serde_json::from_str(text)?;
    Ok(listed.into_iter().map(|e| e.into_model(entry_id)).collect())
}

/// A transition for tests: at `100 + seq`, with `failure` as its code (and its detail).
#[cfg(test)]
pub(crate) fn event(
    entry_id: Uuid,
    seq: i32,
    state: &str,
    failure: Option<&str>,
) -> entry_event::Model {
    entry_event::Model {
        entry_id,
        seq,
        state: state.into(),
        at: 100 + seq as i64,
        failure_code: failure.map(Into::into),
        failure_detail: failure.map(|f| format!("{f} detail")),
        earlier: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_entry_reads_back_as_its_transitions_and_so_do_the_forms_before() {
        let a = Uuid::now_v7();
        let events = vec![
            event(a, 0, "received", None),
            event(a, 1, "failed", Some("insufficient_funds")),
        ];
        let text = list(&events).expect("listed");
        assert_eq!(
            text,
            r#"[[0,"received",100],[1,"failed",101,"insufficient_funds","insufficient_funds detail"]]"#
        );
        assert_eq!(unlist(&text, a).expect("read"), events);
        let whole = serde_json::to_string(&events).expect("whole models");
        assert_eq!(
            unlist(&whole, a).expect("read"),
            events,
            "rm_entries before"
        );
        let objects = r#"[{"seq":0,"state":"received","at":100},{"seq":1,"state":"failed","at":101,"failure_code":"insufficient_funds","failure_detail":"insufficient_funds detail"}]"#;
        assert_eq!(unlist(objects, a).expect("read"), events, "lists before");
        let only_code = r#"[[1,"failed",101,"insufficient_funds",null]]"#;
        let read = unlist(only_code, a).expect("read");
        assert_eq!(
            (
                read[0].failure_code.as_deref(),
                read[0].failure_detail.as_deref()
            ),
            (Some("insufficient_funds"), None)
        );
        for malformed in [
            r#"[[0,"received"]]"#,
            r#"[[1,"failed",101,"insufficient_funds"]]"#,
            r#"[[1,"failed",101,"insufficient_funds","detail",7]]"#,
            r#"[[0,"received","100"]]"#,
        ] {
            assert!(unlist(malformed, a).is_err(), "{malformed}");
        }
    }
}
