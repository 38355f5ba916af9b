//! Credit lots as the catalog declares them: every credit opens a lot in the owner's
//! account, and its operation's [`LotRule`] says what kind of lot, in which place of the
//! drawdown order, and for how long. Also the two operations the ledger records itself to
//! close lots ([`EXPIRY`], [`LOT_VOID`]).

use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;

/// What kind of credit a lot holds.
///
/// Promotional credits are spent before paid ones: the variant order is that rule (derive Ord).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Promotional,
    Paid,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Promotional => "promotional",
            Category::Paid => "paid",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = String;

    fn from_str(s: &str) -> Result<Category, String> {
        match s {
            "promotional" => Ok(Category::Promotional),
            "paid" => Ok(Category::Paid),
            other => Err(format!(
                "category must be \"promotional\" or \"paid\", not {other:?}"
            )),
        }
    }
}

/// Lowest and highest priority; lower is spent first.
pub const PRIORITIES: std::ops::RangeInclusive<u8> = 0..=100;
/// The priority of a lot whose operation or request names none.
pub const DEFAULT_PRIORITY: u8 = 50;

/// How the lots of one credit operation look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotRule {
    pub category: Category,
    /// Within [`PRIORITIES`]; lower is spent first.
    pub priority: u8,
    /// The lot expires this long after the credit is recorded; None: never.
    pub expires_after_seconds: Option<u64>,
    /// A request may set the lot's `expires_at` (RFC 3339, in the future).
    pub request_expires_at: bool,
    /// A request may set the lot's `priority`.
    pub request_priority: bool,
}

impl Default for LotRule {
    fn default() -> Self {
        LotRule {
            category: Category::Paid,
            priority: DEFAULT_PRIORITY,
            expires_after_seconds: None,
            request_expires_at: false,
            request_priority: false,
        }
    }
}

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
const WEEK: u64 = 7 * DAY;

/// The longest duration accepted: the ledger's clock counts i64 microseconds, and an expiry
/// further out than that clock reaches could not be stored.
const MAX_SECONDS: u64 = i64::MAX as u64 / 1_000_000;

/// ISO 8601 duration → seconds: "P30D", "P2W", "PT12H", "PT90S", "P1DT2H30M".
///
/// Years and months are refused (their length varies), as are fractions, zero, and
/// durations longer than the ledger's clock can reach (about 292,000 years).
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let not_a_duration =
        || format!("{text:?} is not an ISO 8601 duration such as \"P30D\", \"P2W\" or \"PT12H\"");
    let body = text.strip_prefix('P').ok_or_else(not_a_duration)?;
    let (date, time) = match body.split_once('T') {
        Some((_, "")) => return Err(format!("{text:?} has no hours, minutes or seconds after T")),
        Some((date, time)) => (date, Some(time)),
        None if body.is_empty() => return Err(not_a_duration()),
        None => (body, None),
    };
    // `None`: a unit that has no fixed length in seconds. Month and minute share `M`, so
    // the parts before and after `T` have their own tables.
    const DATE_UNITS: [(char, Option<u64>); 4] = [
        ('Y', None),
        ('M', None),
        ('W', Some(WEEK)),
        ('D', Some(DAY)),
    ];
    const TIME_UNITS: [(char, Option<u64>); 3] =
        [('H', Some(HOUR)), ('M', Some(MINUTE)), ('S', Some(1))];
    let mut seconds = add_components(text, date, &DATE_UNITS, 0)?;
    if let Some(time) = time {
        seconds = add_components(text, time, &TIME_UNITS, seconds)?;
    }
    if seconds == 0 {
        return Err(format!(
            "{text:?} is zero; a lot that expires at once is no lot"
        ));
    }
    if seconds > MAX_SECONDS {
        return Err(too_long(text));
    }
    Ok(seconds)
}

/// `total` plus the seconds of `part`, a run of `<digits><unit>` whose units come in the
/// order of `units`, each at most once.
fn add_components(
    text: &str,
    part: &str,
    units: &[(char, Option<u64>)],
    mut total: u64,
) -> Result<u64, String> {
    let mut next_unit = 0;
    let mut rest = part;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let mut chars = after.chars();
        let unit = chars
            .next()
            .ok_or_else(|| format!("{text:?}: {number} has no unit after it"))?;
        if unit == '.' || unit == ',' {
            return Err(format!(
                "{text:?}: fractions are not supported; use a smaller unit, e.g. \"PT90M\""
            ));
        }
        let offset = units[next_unit..]
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(|| {
                format!(
                    "{text:?}: unexpected {unit:?}; the units are W and D before T, H, M and S \
                     after it, in that order, each at most once"
                )
            })?;
        if number.is_empty() {
            return Err(format!("{text:?}: {unit:?} has no number before it"));
        }
        let (_, per_unit) = units[next_unit + offset];
        next_unit += offset + 1;
        let per_unit = per_unit.ok_or_else(|| {
            format!("{text:?}: years and months vary in length; use days, e.g. \"P30D\"")
        })?;
        // Only digits are left in `number`, so the parse fails on overflow alone.
        total = number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(per_unit))
            .and_then(|s| s.checked_add(total))
            .ok_or_else(|| too_long(text))?;
        rest = chars.as_str();
    }
    Ok(total)
}

fn too_long(text: &str) -> String {
    format!("{text:?} is too long; at most {MAX_SECONDS} seconds (about 292,000 years)")
}

/// The inverse of [`parse_duration`], for writing a catalog back out: the shortest spelling
/// in days, hours, minutes and seconds ("P30D", "PT90S", "P1DT1S"), such that
/// `parse_duration(&format_duration(s)) == Ok(s)` for every duration `parse_duration` accepts.
pub fn format_duration(seconds: u64) -> String {
    if seconds == 0 {
        // Valid ISO 8601, though parse_duration refuses it as a lot's lifetime.
        return "PT0S".to_owned();
    }
    // Every subset of the units spells the duration differently ("PT90S", "PT1M30S"); the
    // shortest wins, then the one with fewer parts.
    (1u8..16)
        .filter_map(|units| Some((spelled(seconds, units)?, units.count_ones())))
        .min_by_key(|(text, parts)| (text.len(), *parts))
        .map_or_else(|| format!("PT{seconds}S"), |(text, _)| text)
}

/// `seconds` spelled in the units whose bits `units` sets (1: D, 2: H, 4: M, 8: S), or None
/// when those units cannot spell it exactly or one of them would be zero.
fn spelled(seconds: u64, units: u8) -> Option<String> {
    const UNITS: [(u64, char); 4] = [(DAY, 'D'), (HOUR, 'H'), (MINUTE, 'M'), (1, 'S')];
    let mut rest = seconds;
    let mut text = String::from("P");
    for (i, (per_unit, unit)) in UNITS.into_iter().enumerate() {
        if units & (1 << i) == 0 {
            continue;
        }
        let n = rest / per_unit;
        if n == 0 {
            return None;
        }
        rest %= per_unit;
        if unit != 'D' && !text.contains('T') {
            text.push('T');
        }
        let _ = write!(text, "{n}{unit}");
    }
    (rest == 0).then_some(text)
}

#[cfg(test)]
mod tests;
