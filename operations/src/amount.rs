//! Amount rules: how an operation's amount is chosen and which amounts it accepts.

use rust_decimal::Decimal;

/// How an operation's amount is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountRule {
    /// Always this amount; a request may omit it or repeat it exactly.
    Fixed(Decimal),
    /// From the request, within the bounds (inclusive) that are set.
    Range {
        min: Option<Decimal>,
        max: Option<Decimal>,
    },
}

/// Why a requested amount does not fit an operation. (The service's table of codes gives
/// each its stable code for the API.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("this operation takes its amount from the request, and none was given")]
    Required,
    #[error("the amount must be greater than zero")]
    NotPositive,
    #[error("the amount has more than {scale} decimal places")]
    TooPrecise { scale: u32 },
    #[error("the amount is below the minimum of {min}")]
    BelowMinimum { min: Decimal },
    #[error("the amount is above the maximum of {max}")]
    AboveMaximum { max: Decimal },
    #[error("this operation has the fixed amount {fixed}; the request asked for {requested}")]
    FixedMismatch { fixed: Decimal, requested: Decimal },
}

impl AmountRule {
    /// The amount an entry moves, given what the request asked for.
    ///
    /// `scale` is the asset's number of decimal places; `allow_zero` lets a zero amount
    /// through. The result is rescaled to `scale`, so `"5"` and `"5.00"` are one amount.
    pub fn resolve(
        &self,
        requested: Option<Decimal>,
        scale: u32,
        allow_zero: bool,
    ) -> Result<Decimal, AmountError> {
        let amount = match (self, requested) {
            (AmountRule::Fixed(fixed), None) => *fixed,
            (AmountRule::Fixed(fixed), Some(requested)) if requested == *fixed => *fixed,
            (AmountRule::Fixed(fixed), Some(requested)) => {
                return Err(AmountError::FixedMismatch {
                    fixed: *fixed,
                    requested,
                });
            }
            (AmountRule::Range { .. }, None) => return Err(AmountError::Required),
            (AmountRule::Range { min, max }, Some(requested)) => {
                check_sign(requested, allow_zero)?;
                if requested.normalize().scale() > scale {
                    return Err(AmountError::TooPrecise { scale });
                }
                if let Some(min) = min.filter(|min| requested < *min) {
                    return Err(AmountError::BelowMinimum { min });
                }
                if let Some(max) = max.filter(|max| requested > *max) {
                    return Err(AmountError::AboveMaximum { max });
                }
                requested
            }
        };
        check_sign(amount, allow_zero)?;
        let mut amount = amount;
        amount.rescale(scale);
        Ok(amount)
    }
}

fn check_sign(amount: Decimal, allow_zero: bool) -> Result<(), AmountError> {
    if amount.is_sign_negative() && !amount.is_zero() || amount.is_zero() && !allow_zero {
        return Err(AmountError::NotPositive);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn range(min: &str, max: &str) -> AmountRule {
        AmountRule::Range {
            min: Some(d(min)),
            max: Some(d(max)),
        }
    }

    #[test]
    fn fixed_amount_is_taken_when_omitted_or_repeated() {
        let rule = AmountRule::Fixed(d("10"));
        assert_eq!(rule.resolve(None, 2, false).unwrap().to_string(), "10.00");
        assert_eq!(rule.resolve(Some(d("10.00")), 2, false).unwrap(), d("10"));
        assert_eq!(
            rule.resolve(Some(d("11")), 2, false),
            Err(AmountError::FixedMismatch {
                fixed: d("10"),
                requested: d("11")
            })
        );
    }

    #[test]
    fn range_requires_an_amount() {
        assert_eq!(
            range("1", "5").resolve(None, 2, false),
            Err(AmountError::Required)
        );
    }

    #[test]
    fn zero_and_negative_are_refused_unless_zero_is_allowed() {
        let rule = AmountRule::Range {
            min: None,
            max: None,
        };
        assert_eq!(
            rule.resolve(Some(d("0")), 2, false),
            Err(AmountError::NotPositive)
        );
        assert_eq!(
            rule.resolve(Some(d("-1")), 2, true),
            Err(AmountError::NotPositive)
        );
        assert_eq!(rule.resolve(Some(d("0")), 2, true).unwrap(), d("0"));
        let fixed_zero = AmountRule::Fixed(d("0"));
        assert_eq!(
            fixed_zero.resolve(None, 2, false),
            Err(AmountError::NotPositive)
        );
    }

    #[test]
    fn precision_is_the_asset_scale() {
        let rule = range("0.01", "100");
        assert_eq!(
            rule.resolve(Some(d("1.001")), 2, false),
            Err(AmountError::TooPrecise { scale: 2 })
        );
        // Trailing zeros are not precision.
        assert_eq!(
            rule.resolve(Some(d("1.2000")), 2, false)
                .unwrap()
                .to_string(),
            "1.20"
        );
    }

    #[test]
    fn bounds_are_inclusive() {
        let rule = range("1", "5");
        assert!(rule.resolve(Some(d("1")), 2, false).is_ok());
        assert!(rule.resolve(Some(d("5")), 2, false).is_ok());
        assert_eq!(
            rule.resolve(Some(d("0.99")), 2, false),
            Err(AmountError::BelowMinimum { min: d("1") })
        );
        assert_eq!(
            rule.resolve(Some(d("5.01")), 2, false),
            Err(AmountError::AboveMaximum { max: d("5") })
        );
    }
}
