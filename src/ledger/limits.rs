//! Per-operation limits: cooldowns and count or amount caps per owner and window. Their
//! state is a usage row per `(app, owner, operation, window)`, loaded with the batch and
//! counted forward by each completed entry of it.

use super::codes::{Code, Refusal};
use super::command::Command;
use operations::Window;
use rust_decimal::Decimal;
use std::collections::HashMap;
use uuid::Uuid;

/// `(app, owner, operation, window key)`.
pub type UsageKey = (Uuid, String, String, String);

/// A window's usage: completed entries, their total, the time of the last one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Usage {
    pub count: i64,
    pub total: Decimal,
    pub last_at: i64,
}

/// The usage keys an entry of `cmd` reads and writes at `now`. A hold counts at its
/// capture, so placing, voiding or expiring one counts nothing.
pub fn usage_keys(cmd: &Command, now: i64) -> Vec<UsageKey> {
    if !cmd.counts_usage() {
        return Vec::new();
    }
    cmd.operation
        .tracked_windows()
        .into_iter()
        .map(|w| {
            (
                cmd.app_id,
                cmd.owner_id.as_str().to_owned(),
                cmd.operation.name.clone(),
                w.key(now),
            )
        })
        .collect()
}

/// Why the operation's limits refuse this entry now, if they do.
pub(super) fn check_limits(
    cmd: &Command,
    usage: &HashMap<UsageKey, Usage>,
    now: i64,
) -> Option<Refusal> {
    let op = &cmd.operation;
    if !op.is_limited() || !cmd.counts_usage() {
        return None;
    }
    let get = |window: Window| {
        let key = (
            cmd.app_id,
            cmd.owner_id.as_str().to_owned(),
            op.name.clone(),
            window.key(now),
        );
        usage.get(&key).cloned().unwrap_or_default()
    };
    if let Some(cooldown) = op.cooldown_seconds {
        let last = get(Window::Lifetime);
        let cooldown_us = i64::try_from(cooldown).unwrap_or(i64::MAX / 2) * 1_000_000;
        if last.count > 0 && now < last.last_at.saturating_add(cooldown_us) {
            return Some(Refusal::new(
                Code::LimitExceeded,
                format!(
                    "{} has a cooldown of {cooldown} s; the last one was {} s ago",
                    op.name,
                    (now - last.last_at) / 1_000_000
                ),
            ));
        }
    }
    for limit in &op.limits {
        let u = get(limit.window);
        if !limit.allows(
            u64::try_from(u.count).unwrap_or(0),
            u.total,
            cmd.amount.get(),
        ) {
            let cap = match (limit.max_count, limit.max_amount) {
                (Some(n), None) => format!("at most {n} entries"),
                (None, Some(a)) => format!("at most {a} in total"),
                (Some(n), Some(a)) => format!("at most {n} entries and {a} in total"),
                (None, None) => String::new(),
            };
            let per = match limit.window {
                Window::Lifetime => "per owner".to_owned(),
                w => format!("per owner per UTC {}", w.as_str()),
            };
            return Some(Refusal::new(
                Code::LimitExceeded,
                format!(
                    "{} allows {cap} {per}; this owner has {} ({})",
                    op.name, u.count, u.total
                ),
            ));
        }
    }
    None
}

/// Counts a completed entry of `cmd` into its usage windows; returns the windows' keys.
pub(super) fn count_usage(
    cmd: &Command,
    usage: &mut HashMap<UsageKey, Usage>,
    now: i64,
) -> Vec<UsageKey> {
    let keys = usage_keys(cmd, now);
    for key in &keys {
        let u = usage.entry(key.clone()).or_default();
        u.count += 1;
        u.total += cmd.amount.get();
        u.last_at = now;
    }
    keys
}
