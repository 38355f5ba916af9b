//! Times are stored as microseconds since the Unix epoch (UTC) and shown as RFC 3339.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// `2026-11-21T15:04:05.123456Z`: fixed width, so it sorts as it reads.
///
/// Written digit by digit from the day number: an answer shows a time per transition,
/// posting and lot, and chrono's formatter (which walks a list of format items, and
/// decodes the date again for each field) cost more. Times before year
/// 0 or after 9999, which RFC 3339 has no four digits for, go through chrono.
pub fn to_rfc3339(micros: i64) -> String {
    const DAY: i64 = 86_400_000_000;
    let (days, of_day) = (micros.div_euclid(DAY), micros.rem_euclid(DAY));
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return DateTime::<Utc>::from_timestamp_micros(micros)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Micros, true);
    }
    let seconds = of_day / 1_000_000;
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut n: i64| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, seconds / 3600);
    put(14, 2, seconds / 60 % 60);
    put(17, 2, seconds % 60);
    put(20, 6, of_day % 1_000_000);
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

/// The proleptic Gregorian (year, month, day) of a day counted from 1970-01-01: Howard
/// Hinnant's `civil_from_days`, in 400-year eras of 146,097 days that start on March 1st.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses an RFC 3339 time with any offset; `None` if it is not one.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc).timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_at_microsecond_precision() {
        let t = parse_rfc3339("2026-11-21T16:04:05.123456+01:00").unwrap();
        assert_eq!(to_rfc3339(t), "2026-11-21T15:04:05.123456Z");
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
    }

    proptest::proptest! {
        /// The digit-by-digit form is chrono's, from before year 1 to past year 9999.
        #[test]
        fn rfc3339_is_chronos_form(micros in -70_000_000_000_000_000i64..300_000_000_000_000_000) {
            let chrono = DateTime::<Utc>::from_timestamp_micros(micros)
                .unwrap_or_default()
                .to_rfc3339_opts(SecondsFormat::Micros, true);
            proptest::prop_assert_eq!(to_rfc3339(micros), chrono);
        }
    }

    #[test]
    fn rfc3339_at_the_edges_of_four_digit_years() {
        for text in [
            "0000-01-01T00:00:00.000000Z",
            "9999-12-31T23:59:59.999999Z",
            "1970-01-01T00:00:00.000000Z",
            "1969-12-31T23:59:59.999999Z",
        ] {
            let micros = parse_rfc3339(text).unwrap();
            assert_eq!(to_rfc3339(micros), text);
        }
    }
}
