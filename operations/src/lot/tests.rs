//! Categories, durations and the ledger's own operations.

use super::*;

#[test]
fn categories_read_back_and_promotional_is_spent_first() {
    for category in [Category::Promotional, Category::Paid] {
        assert_eq!(category.to_string().parse(), Ok(category));
    }
    assert!(Category::Promotional < Category::Paid);
    let e = "free".parse::<Category>().unwrap_err();
    assert_eq!(
        e,
        "category must be \"promotional\" or \"paid\", not \"free\""
    );
}

#[test]
fn durations_parse_to_seconds() {
    let cases = [
        ("P30D", 30 * DAY),
        ("P2W", 14 * DAY),
        ("P1W2D", 9 * DAY),
        ("PT12H", 12 * HOUR),
        ("PT90S", 90),
        ("PT90M", 90 * MINUTE),
        ("P1DT2H30M", DAY + 2 * HOUR + 30 * MINUTE),
        ("P1DT1H1M1S", DAY + HOUR + MINUTE + 1),
        ("P0DT1S", 1),
        ("P007D", 7 * DAY),
    ];
    for (text, seconds) in cases {
        assert_eq!(parse_duration(text), Ok(seconds), "{text}");
    }
}

#[test]
fn bad_durations_are_refused_with_a_reason() {
    let cases = [
        ("", "not an ISO 8601 duration"),
        ("30D", "not an ISO 8601 duration"),
        ("P", "not an ISO 8601 duration"),
        ("p30d", "not an ISO 8601 duration"),
        ("PT", "after T"),
        ("P1DT", "after T"),
        ("P1Y", "use days"),
        ("P1M", "use days"),
        ("P1Y2D", "use days"),
        ("P0D", "zero"),
        ("PT0H0M0S", "zero"),
        ("P1.5D", "fractions"),
        ("PT0,5H", "fractions"),
        ("P30", "no unit"),
        ("PD", "no number"),
        ("P-1D", "unexpected"),
        ("P+1D", "unexpected"),
        ("P 1D", "unexpected"),
        ("P1D2W", "unexpected"),
        ("P1D1D", "unexpected"),
        ("PT1S1M", "unexpected"),
        ("P1H", "unexpected"),
        ("PT1D", "unexpected"),
        ("P1DT1H T", "unexpected"),
        ("P1TT1H", "no unit"),
        ("P99999999999999999999D", "too long"),
        ("P18446744073709551615D", "too long"),
        ("PT18446744073709551615S", "too long"),
        ("PT9223372036855S", "too long"),
    ];
    for (text, reason) in cases {
        let e = parse_duration(text).expect_err(text);
        assert!(e.contains(reason), "{text}: {e}");
    }
    assert_eq!(parse_duration("PT9223372036854S"), Ok(MAX_SECONDS));
}

#[test]
fn durations_are_written_in_their_shortest_form() {
    let cases = [
        (1, "PT1S"),
        (60, "PT1M"),
        (90, "PT90S"),
        (HOUR, "PT1H"),
        (90 * MINUTE, "PT90M"),
        (DAY, "P1D"),
        (14 * DAY, "P14D"),
        (30 * DAY, "P30D"),
        (26 * HOUR, "PT26H"),
        (DAY + 1, "P1DT1S"),
        (DAY + 90, "P1DT90S"),
        // Shorter than "P1DT1H1M1S".
        (DAY + HOUR + MINUTE + 1, "PT90061S"),
        (10 * DAY + 1, "P10DT1S"),
        (10 * DAY + HOUR, "PT241H"),
        (0, "PT0S"),
    ];
    for (seconds, text) in cases {
        assert_eq!(format_duration(seconds), text, "{seconds}");
    }
}

#[test]
fn formatted_durations_parse_back() {
    let mut fixed = vec![1, 59, 61, 3599, 3601, DAY - 1, DAY + 1, MAX_SECONDS];
    // A fixed pseudo-random walk over the whole range, so a failure reproduces.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..5000 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let digits = 1 + (x >> 59) as u32 % 13;
        fixed.push(1 + (x >> 7) % 10u64.pow(digits).min(MAX_SECONDS));
    }
    for seconds in fixed {
        let text = format_duration(seconds);
        assert_eq!(parse_duration(&text), Ok(seconds), "{seconds} → {text}");
    }
}
