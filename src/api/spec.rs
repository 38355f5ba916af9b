//! The OpenAPI document as served, at `/openapi.json` and in Swagger UI: poem-openapi's,
//! with what its derives cannot say added here, in one place, so that the document states
//! every rule the handlers enforce and nothing they do not:
//! - each operation lists only the statuses it can answer ([`ANSWERS`]); poem-openapi gives
//!   every operation every status of the shared error type;
//! - ids, nonces and query parameters carry the limits the handlers check (lengths,
//!   patterns, ranges), and optional body fields say they may be `null`;
//! - each operation's request has a working example.
//!
//! The rules themselves stay in the handlers and `ledger::command` (with their own codes):
//! this module only writes them down, from the same constants.

use super::accounts::MAX_PAGE;
use crate::ledger::app_events::EventType;
use crate::ledger::closing::MAX_REASON_LEN;
use crate::ledger::command::{Amount, INVISIBLE, MAX_ID_LEN};
use crate::query::PostingCursor;
use crate::webhooks::policy::MAX_URL_LEN;
use serde_json::{Value, json};

/// A history's page cursor, of either kind: as `query::PageCursor` writes it (an owner's),
/// the microseconds of the last entry (18 digits reach the year 33658, and stay inside an
/// `i64`) and its id, with or without hyphens; or as `query::PostingCursor` writes it (a
/// system account's), `v` and a posting version. Which kind an account takes, no pattern
/// can say: the parameter's description does.
fn cursor_pattern() -> String {
    let hyphenated = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
    let version = PostingCursor::MAX_DIGITS - 1;
    format!("^(-?[0-9]{{1,18}}_([0-9a-f]{{32}}|{hyphenated})|v[1-9][0-9]{{0,{version}}})$")
}

/// Statuses every operation under `/v1` can answer before its handler runs: a head hyper
/// cannot read (400, 431), a missing or revoked key (401), the app's rate (429), the apps
/// table unreachable (503).
const BEFORE_HANDLER: &[&str] = &["400", "401", "429", "431", "503"];

/// Per operation, the error statuses its handler can answer besides [`BEFORE_HANDLER`].
const ANSWERS: &[(&str, &str, &[&str])] = &[
    ("post", "/v1/entries", &["409", "413", "415", "422"]),
    ("get", "/v1/entries/{id}", &["404"]),
    (
        "post",
        "/v1/entries/{id}/reversals",
        &["404", "409", "413", "415", "422"],
    ),
    ("get", "/v1/accounts/{owner_id}", &["409", "422"]),
    ("get", "/v1/accounts/{owner_id}/lots", &["422"]),
    ("get", "/v1/accounts/{owner_id}/entries", &["409", "422"]),
    ("get", "/v1/accounts/{owner_id}/audit", &["422"]),
    (
        "post",
        "/v1/lots/{id}/void",
        &["404", "409", "413", "415", "422"],
    ),
    ("post", "/v1/holds", &["409", "413", "415", "422"]),
    ("get", "/v1/holds/{id}", &["404"]),
    (
        "post",
        "/v1/holds/{id}/capture",
        &["404", "409", "413", "415", "422"],
    ),
    (
        "post",
        "/v1/holds/{id}/void",
        &["404", "409", "413", "415", "422"],
    ),
    ("get", "/v1/accounts/{owner_id}/holds", &["422"]),
    (
        "post",
        "/v1/accounts/{owner_id}/freeze",
        &["409", "413", "415", "422"],
    ),
    (
        "post",
        "/v1/accounts/{owner_id}/unfreeze",
        &["409", "413", "415", "422"],
    ),
    (
        "post",
        "/v1/accounts/{owner_id}/close",
        &["409", "413", "415", "422"],
    ),
    ("get", "/v1/events", &["422"]),
    ("get", "/v1/events/stream", &["422"]),
    ("post", "/v1/monitors", &["413", "415", "422"]),
    ("get", "/v1/monitors", &["422"]),
    ("get", "/v1/monitors/{id}", &["404"]),
    ("delete", "/v1/monitors/{id}", &["404"]),
    ("get", "/v1/operations", &[]),
    ("post", "/v1/webhooks", &["413", "415", "422"]),
    ("get", "/v1/webhooks", &[]),
    ("get", "/v1/webhooks/{id}", &["404"]),
    ("patch", "/v1/webhooks/{id}", &["404", "413", "415", "422"]),
    ("delete", "/v1/webhooks/{id}", &["404"]),
    ("post", "/v1/webhooks/{id}/rotate-secret", &["404"]),
    ("get", "/v1/webhooks/{id}/deliveries", &["404"]),
    (
        "post",
        "/v1/webhooks/{id}/deliveries/{event_id}/retry",
        &["404", "409"],
    ),
];

/// Operations without a key: only a head hyper cannot read fails them before the handler.
const WITHOUT_KEY: &[(&str, &str, &[&str])] = &[
    ("get", "/healthz", &["400", "431"]),
    ("get", "/readyz", &["400", "431", "503"]),
];

/// The document poem-openapi generated (`generated`), completed.
pub fn document(generated: &str) -> Result<String, serde_json::Error> {
    let mut doc: Value = serde_json::from_str(generated)?;
    keep_only_answers(&mut doc);
    constrain(&mut doc);
    serde_json::to_string(&doc)
}

fn keep_only_answers(doc: &mut Value) {
    for (method, path, errors) in ANSWERS {
        let allowed = BEFORE_HANDLER.iter().chain(errors.iter());
        retain_responses(doc, method, path, &allowed.copied().collect::<Vec<_>>());
    }
    for (method, path, errors) in WITHOUT_KEY {
        retain_responses(doc, method, path, errors);
    }
}

/// Keeps the 2xx answers of `method path` and the errors `allowed`.
fn retain_responses(doc: &mut Value, method: &str, path: &str, allowed: &[&str]) {
    let responses = &mut doc["paths"][path][method]["responses"];
    if let Some(responses) = responses.as_object_mut() {
        responses.retain(|status, _| status.starts_with('2') || allowed.contains(&status.as_str()));
    }
}

/// Makes `schema` (a string the derives wrote, with its description) an owner id's or a
/// nonce's: [`MAX_ID_LEN`] characters at most and [`id_pattern`]. No pattern can say "NFC",
/// nor, portably, name the invisible characters beyond the Basic Multilingual Plane: the
/// description says those two rules.
fn constrain_id(schema: &mut Value, system: bool) {
    let beyond: Vec<String> = INVISIBLE
        .iter()
        .filter(|&&(from, _)| from > 0xFFFF)
        .map(|&(from, to)| format!("U+{from:04X}–U+{to:04X}"))
        .collect();
    let described = schema["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    schema["minLength"] = json!(1);
    schema["maxLength"] = json!(MAX_ID_LEN);
    schema["pattern"] = json!(id_pattern(system));
    schema["description"] =
        json!(format!(
        "{described} Also refused, beyond what the pattern says: a text not in Unicode NFC, \
         and the invisible characters {} (`422 invalid_id`).",
        beyond.join(", ")
    ).trim_start());
}

/// No control, invisible or bidirectional-control character, and, unless `system` (an
/// owner a read names: system accounts `@system:…` can be read), not starting with `@` or a
/// character that stands for it. Written for every JSON Schema tool (ECMA-262 without the
/// `u` flag, and Python's `re`), it names only characters of the Basic Multilingual Plane.
fn id_pattern(system: bool) -> String {
    let invisible: String = INVISIBLE
        .iter()
        .filter(|&&(from, _)| from <= 0xFFFF)
        .map(|&(from, to)| class_range(from, to))
        .collect();
    let forbidden = format!("{invisible}{}", control_characters());
    match system {
        true => format!("^[^{forbidden}]+$"),
        false => format!("^[^@\\uFF20\\uFE6B{forbidden}][^{forbidden}]*$"),
    }
}

/// Unicode's control characters (`char::is_control`), for a regex character class.
fn control_characters() -> String {
    [(0x00, 0x1F), (0x7F, 0x9F)]
        .iter()
        .map(|&(from, to)| class_range(from, to))
        .collect()
}

/// `from-to` as a regex character class range of `\uXXXX` escapes.
fn class_range(from: u32, to: u32) -> String {
    match from == to {
        true => format!("\\u{from:04X}"),
        false => format!("\\u{from:04X}-\\u{to:04X}"),
    }
}

fn constrain(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];
    let entry = &mut schemas["NewEntry"]["properties"];
    for field in ["owner_id", "nonce", "counterparty_id"] {
        constrain_id(&mut entry[field], false);
    }
    entry["metadata"]["type"] = json!("object");
    entry["expires_at"]["format"] = json!("date-time");
    entry["priority"]["minimum"] = json!(0);
    entry["priority"]["maximum"] = json!(100);
    for field in [
        "amount",
        "counterparty_id",
        "metadata",
        "expires_at",
        "priority",
    ] {
        entry[field]["nullable"] = json!(true);
    }
    for body in [
        "NewEntry",
        "NewVoid",
        "NewHold",
        "NewCapture",
        "NewHoldVoid",
        "NewControl",
        "NewReversal",
        "NewMonitor",
    ] {
        schemas[body]["additionalProperties"] = json!(false);
    }
    let monitor = &mut schemas["NewMonitor"]["properties"];
    constrain_id(&mut monitor["owner_id"], true);
    monitor["asset"]["nullable"] = json!(true);
    monitor["asset"]["minLength"] = json!(1);
    // A threshold is 0 or more: the amount grammar without its sign.
    monitor["below"]["pattern"] = json!(Amount::PATTERN.replace("^-?", "^"));
    schemas["NewMonitor"]["example"] = json!({"owner_id": "alice", "below": "5"});
    schemas["NewEntry"]["example"] = json!({
        "operation": "CREDIT_ADD", "owner_id": "alice", "nonce": "order-1001", "amount": "12.50"
    });
    constrain_id(&mut schemas["NewVoid"]["properties"]["nonce"], false);
    schemas["NewVoid"]["example"] = json!({"nonce": "void-1001", "reason": "refund"});
    constrain_id(&mut schemas["NewControl"]["properties"]["nonce"], false);
    schemas["NewControl"]["properties"]["asset"]["nullable"] = json!(true);
    schemas["NewControl"]["properties"]["asset"]["minLength"] = json!(1);
    schemas["NewControl"]["example"] = json!({"nonce": "freeze-1", "reason": "chargeback review"});
    constrain_id(&mut schemas["NewReversal"]["properties"]["nonce"], false);
    schemas["NewReversal"]["properties"]["amount"]["nullable"] = json!(true);
    schemas["NewReversal"]["example"] =
        json!({"nonce": "refund-1001", "amount": "2.50", "reason": "refund"});
    for body in ["NewVoid", "NewControl", "NewReversal"] {
        let reason = &mut schemas[body]["properties"]["reason"];
        reason["nullable"] = json!(true);
        reason["maxLength"] = json!(MAX_REASON_LEN);
        reason["pattern"] = json!(format!("^[^{}]*$", control_characters()));
    }
    constrain_holds(schemas);
    constrain_webhooks(schemas);
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, operation) in paths.iter_mut() {
            // An account control changes an owner's account; a system account's is not an
            // app's to change.
            let controls = ["/freeze", "/unfreeze", "/close"];
            let system = !controls.iter().any(|c| path.ends_with(c));
            if let Some(operation) = operation.as_object_mut() {
                for method in operation.values_mut() {
                    constrain_parameters(method, system);
                }
            }
        }
    }
}

/// The hold requests' limits and examples (the examples follow `NewEntry`'s: a hold of
/// alice's credits, captured in part).
fn constrain_holds(schemas: &mut Value) {
    let hold = &mut schemas["NewHold"]["properties"];
    for field in ["owner_id", "nonce"] {
        constrain_id(&mut hold[field], false);
    }
    hold["metadata"]["type"] = json!("object");
    hold["expires_at"]["format"] = json!("date-time");
    hold["expires_in_seconds"]["minimum"] = json!(1);
    for field in ["amount", "metadata", "expires_at", "expires_in_seconds"] {
        hold[field]["nullable"] = json!(true);
    }
    schemas["NewHold"]["example"] = json!({
        "operation": "CREDIT_SPEND", "owner_id": "alice", "nonce": "job-77",
        "amount": "5", "expires_in_seconds": 600
    });
    for body in ["NewCapture", "NewHoldVoid"] {
        constrain_id(&mut schemas[body]["properties"]["nonce"], false);
    }
    schemas["NewCapture"]["properties"]["amount"]["nullable"] = json!(true);
    schemas["NewCapture"]["example"] = json!({"nonce": "job-77-done", "amount": "3"});
    schemas["NewHoldVoid"]["example"] = json!({"nonce": "job-77-cancel"});
}

/// The webhook requests' limits and examples.
fn constrain_webhooks(schemas: &mut Value) {
    let types: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    for body in ["NewWebhook", "WebhookChange"] {
        schemas[body]["additionalProperties"] = json!(false);
        let fields = &mut schemas[body]["properties"];
        fields["url"]["maxLength"] = json!(MAX_URL_LEN);
        fields["url"]["format"] = json!("uri");
        fields["url"]["pattern"] = json!("^[hH][tT][tT][pP][sS]?://");
        fields["event_types"]["minItems"] = json!(1);
        fields["event_types"]["items"]["enum"] = json!(types);
    }
    let change = &mut schemas["WebhookChange"]["properties"];
    change["state"]["enum"] = json!(["active", "disabled"]);
    for field in ["url", "event_types", "state"] {
        change[field]["nullable"] = json!(true);
    }
    schemas["NewWebhook"]["example"] = json!({
        "url": "https://example.com/ledgerflow/events",
        "event_types": ["entry.completed", "balance.low"]
    });
    schemas["WebhookChange"]["example"] = json!({"state": "active"});
}

/// A comma-separated list of event type names.
fn types_pattern() -> String {
    let names: Vec<String> = EventType::ALL
        .iter()
        .map(|t| t.as_str().replace('.', "\\."))
        .collect();
    let one = format!("({})", names.join("|"));
    format!("^{one}(,{one})*$")
}

/// The query and path parameters' limits, by name: each name means one thing on every
/// operation that has it (`owner_id` may name a system account where `system`).
fn constrain_parameters(operation: &mut Value, system: bool) {
    // `get_mut`, not indexing: indexing a missing key would write a `null` there.
    let Some(parameters) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for parameter in parameters {
        let name = parameter["name"].as_str().unwrap_or_default().to_owned();
        let schema = &mut parameter["schema"];
        match name.as_str() {
            "owner_id" => {
                schema["description"] = json!(match system {
                    true => "The owner, or a system account (`@system:…`).",
                    false => "The owner (not a system account).",
                });
                constrain_id(schema, system);
                parameter["example"] = json!("alice");
            }
            "asset" => schema["minLength"] = json!(1),
            "at" => schema["format"] = json!("date-time"),
            "cursor" => schema["pattern"] = json!(cursor_pattern()),
            "include" => schema["enum"] = json!(["open", "closed"]),
            "status" => schema["enum"] = json!(["pending", "delivered", "failed"]),
            "state" => schema["enum"] = json!(["held", "captured", "voided", "expired"]),
            "limit" => {
                schema["minimum"] = json!(1);
                schema["maximum"] = json!(MAX_PAGE);
            }
            "after" => schema["minimum"] = json!(0),
            "Last-Event-ID" => schema["pattern"] = json!("^[0-9]{1,18}$"),
            "types" => schema["pattern"] = json!(types_pattern()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_pattern_refuses_what_the_handlers_refuse_and_takes_the_rest() {
        let pattern = id_pattern(false);
        let re = regex::Regex::new(&pattern).expect("a regex");
        for taken in ["alice", "a@b", "Zoë", "東京", "x y", "😀"] {
            assert!(re.is_match(taken), "{taken:?}");
        }
        // Tags (U+E0000…) are beyond what the pattern can name: the description says it.
        for refused in [
            "",
            "@system",
            "\u{FF20}x",
            "a\u{200B}b",
            "a\u{202E}",
            "a\nb",
            "\u{AD}",
            "a\u{FEFF}",
        ] {
            assert!(!re.is_match(refused), "{refused:?}");
        }
        let read = id_pattern(true);
        let read = regex::Regex::new(&read).expect("a regex");
        assert!(
            read.is_match("@system:rewards"),
            "a read may name a system account"
        );
        assert!(!read.is_match("") && !read.is_match("@a\u{200B}"));
    }
}
