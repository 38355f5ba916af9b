//! Money as stored: canonical decimal text, written by `rust_decimal` and read back exactly.
//! (SQLite would keep a SQL decimal as a float; text is exact on every database.)

use rust_decimal::Decimal;
use std::str::FromStr;

/// Reads a stored decimal. Stored amounts are written by this crate in canonical form, so a
/// value that does not parse is corruption, reported as such rather than read as zero.
pub fn stored_decimal(text: &str) -> Result<Decimal, String> {
    Decimal::from_str(text).map_err(|_| format!("stored amount {text:?} is not a decimal"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_reads_back_exactly_and_garbage_is_an_error() {
        let d = stored_decimal("12345678901234567.89").expect("a decimal");
        assert_eq!(d.to_string(), "12345678901234567.89");
        assert!(stored_decimal("12,5").is_err());
        assert!(stored_decimal("").is_err());
    }
}
