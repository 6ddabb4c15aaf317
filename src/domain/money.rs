//! Exact money: integer picodollars (10⁻¹² USD).
//!
//! A price of 1/10,000 of a US cent per million tokens times one token is
//! exactly one picodollar, so every priced cost is an integer in this unit and
//! no rounding ever happens between a call and the dashboard total.
//!
//! Amounts are held in 128 bits, so sums over any window are exact. A
//! stored total (one day of one combination, a day's total, a user's week)
//! keeps whole dollars and the picodollars below a dollar in two 64-bit
//! columns (`to_parts`, at most `MAX_TOTAL`); a single stored amount (a
//! budget limit, a hold) one column of picodollars (`to_stored`, at most
//! `MAX_STORED`).

use std::fmt;
use std::ops::{Add, AddAssign};

/// Picodollars per US dollar.
pub const UNITS_PER_USD: i64 = 1_000_000_000_000;
const FRACTION_DIGITS: usize = 12;
/// Fractional digits always shown in the exact decimal form ("5.310000").
const MIN_SHOWN_DIGITS: usize = 6;

/// An amount of US dollars, exact, in picodollars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i128);

/// The most one stored amount holds: `i64::MAX` picodollars, about
/// $9.2 million.
pub const MAX_STORED: Money = Money(i64::MAX as i128);

/// The most a stored total holds: its whole dollars stay one below
/// `i64::MAX` (room for the carry of its picodollars), about 9.2 × 10¹⁸
/// dollars.
pub const MAX_TOTAL: Money =
    Money((i64::MAX as i128 - 1) * UNITS_PER_USD as i128 + (UNITS_PER_USD as i128 - 1));

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must be a decimal number of US dollars such as \"0.0123\"")]
    Syntax,
    #[error("must not be negative")]
    Negative,
    #[error("has more than 12 fractional digits")]
    TooPrecise,
    #[error("is too large")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_picos(picos: i64) -> Money {
        Money(picos as i128)
    }

    /// A sum read in two parts, whole dollars and the picodollars below a
    /// dollar, so that no database sum overflows 64 bits.
    pub const fn from_parts(dollars: i64, picos: i64) -> Money {
        Money(dollars as i128 * UNITS_PER_USD as i128 + picos as i128)
    }

    pub const fn picos(self) -> i128 {
        self.0
    }

    /// The amount as a stored column holds it, if it fits (see `MAX_STORED`).
    pub fn to_stored(self) -> Option<i64> {
        i64::try_from(self.0).ok()
    }

    /// A non-negative amount as a stored total keeps it: whole dollars and
    /// the picodollars below a dollar, if it fits (see `MAX_TOTAL`).
    pub fn to_parts(self) -> Option<[i64; 2]> {
        if self.0 < 0 || self > MAX_TOTAL {
            return None;
        }
        let unit = i128::from(UNITS_PER_USD);
        Some([
            i64::try_from(self.0 / unit).ok()?,
            i64::try_from(self.0 % unit).ok()?,
        ])
    }

    /// Parses a non-negative decimal string of dollars, e.g. `"12.5"`.
    pub fn parse_usd(text: &str) -> Result<Money, MoneyError> {
        let (units, frac) = parse_decimal(text, FRACTION_DIGITS).map_err(|e| match e {
            DecimalError::Syntax => MoneyError::Syntax,
            DecimalError::Negative => MoneyError::Negative,
            DecimalError::TooPrecise => MoneyError::TooPrecise,
            DecimalError::TooLarge => MoneyError::TooLarge,
        })?;
        units
            .checked_mul(UNITS_PER_USD)
            .and_then(|u| u.checked_add(frac))
            .map(Money::from_picos)
            .ok_or(MoneyError::TooLarge)
    }

    /// The amount as a display estimate, rounded half up to cents: `~$1,234.56`.
    /// An amount that is not zero but rounds to it is `<$0.01`: `~$0.00`
    /// would read as nothing at all (a free model's cost is exactly zero).
    pub fn display_estimate(self) -> String {
        let cents_unit = UNITS_PER_USD / 100;
        let cents = (self.0 + i128::from(cents_unit / 2)) / i128::from(cents_unit);
        if cents == 0 && self.0 > 0 {
            return "<$0.01".into();
        }
        let sign = if cents < 0 { "-" } else { "" };
        let cents = cents.unsigned_abs();
        format!(
            "~{sign}${}.{:02}",
            group_thousands(&(cents / 100).to_string()),
            cents % 100
        )
    }

    /// Share of `self` in `limit`, in percent with one decimal (for budget bars).
    pub fn percent_of(self, limit: Money) -> Option<f64> {
        if limit.0 <= 0 {
            return None;
        }
        let tenths = (self.0 * 1000 + limit.0 / 2) / limit.0;
        // Display only: the ratio of two exact amounts, rounded to 0.1 %.
        Some(tenths as f64 / 10.0)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, other: Money) {
        self.0 += other.0;
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

/// The exact decimal string used in JSON and files: at least six fractional
/// digits, more only when the amount needs them (`"0.008755"`, `"0.0000001234"`).
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let units = abs / UNITS_PER_USD as u128;
        let frac = format!("{:012}", abs % UNITS_PER_USD as u128);
        let trimmed = frac.trim_end_matches('0');
        let shown = &frac[..trimmed.len().max(MIN_SHOWN_DIGITS)];
        write!(f, "{sign}{units}.{shown}")
    }
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A count with thousands separators: `1,234,567`.
pub fn format_count(n: impl Into<i128>) -> String {
    let n: i128 = n.into();
    let digits = group_thousands(&n.unsigned_abs().to_string());
    if n < 0 { format!("-{digits}") } else { digits }
}

/// `10,000 tokens`, `1 request`: a count with its unit, singular for one.
pub fn format_quantity(n: impl Into<i128>, unit: &str) -> String {
    let n: i128 = n.into();
    let plural = if n == 1 { "" } else { "s" };
    format!("{} {unit}{plural}", format_count(n))
}

/// A percentage with one decimal and thousands separators: `12,345.6`.
pub fn format_percent(p: f64) -> String {
    let tenths = (p * 10.0).round() as i128;
    format!("{}.{}", format_count(tenths / 10), (tenths % 10).abs())
}

/// Inserts thousands separators into a string of digits.
pub fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DecimalError {
    Syntax,
    Negative,
    TooPrecise,
    TooLarge,
}

/// Splits a plain non-negative decimal (`"12"`, `"7.5"`) into its integer part
/// and its fraction scaled to `digits` places. No exponents, signs or spaces.
pub(crate) fn parse_decimal(text: &str, digits: usize) -> Result<(i64, i64), DecimalError> {
    if text.starts_with('-') {
        return Err(DecimalError::Negative);
    }
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(frac) || text.ends_with('.') {
        return Err(DecimalError::Syntax);
    }
    // Zeros that change nothing do not count against the limits.
    let frac = frac.trim_end_matches('0');
    if frac.len() > digits {
        return Err(DecimalError::TooPrecise);
    }
    if int.trim_start_matches('0').len() > 15 {
        return Err(DecimalError::TooLarge);
    }
    let int: i64 = int.parse().map_err(|_| DecimalError::TooLarge)?;
    let scaled = if frac.is_empty() {
        0
    } else {
        let f: i64 = frac.parse().map_err(|_| DecimalError::Syntax)?;
        f * 10_i64.pow((digits - frac.len()) as u32)
    };
    Ok((int, scaled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_total_keeps_dollars_and_picodollars() {
        let m = Money::from_parts(9_223_372, 36_854_775_808);
        assert_eq!(m.to_stored(), None, "past one column");
        assert_eq!(m.to_parts(), Some([9_223_372, 36_854_775_808]));
        assert_eq!(Money::ZERO.to_parts(), Some([0, 0]));
        assert_eq!(
            MAX_TOTAL.to_parts(),
            Some([i64::MAX - 1, UNITS_PER_USD - 1])
        );
        assert_eq!((MAX_TOTAL + Money(1)).to_parts(), None);
        assert_eq!(Money(-1).to_parts(), None);
        let [dollars, picos] = m.to_parts().unwrap();
        assert_eq!(Money::from_parts(dollars, picos), m);
    }

    #[test]
    fn parses_and_prints_exactly() {
        let m = Money::parse_usd("0.008755").unwrap();
        assert_eq!(m.picos(), 8_755_000_000);
        assert_eq!(m.to_string(), "0.008755");
        assert_eq!(Money::parse_usd("5.31").unwrap().to_string(), "5.310000");
        assert_eq!(Money::parse_usd("0").unwrap().to_string(), "0.000000");
        assert_eq!(
            Money::parse_usd("0.100000000000000000")
                .unwrap()
                .to_string(),
            "0.100000"
        );
        assert_eq!(
            Money::parse_usd("0000000000000000001.5")
                .unwrap()
                .to_string(),
            "1.500000"
        );
        assert!(
            Money::parse_usd("0.0000000000001").is_err(),
            "a 13th digit that counts"
        );
        assert_eq!(
            Money::parse_usd("0.000000000001").unwrap().to_string(),
            "0.000000000001"
        );
        assert_eq!(Money::from_picos(123_400).to_string(), "0.0000001234");
        assert_eq!(
            Money::from_picos(-1_500_000_000_000).to_string(),
            "-1.500000"
        );
    }

    #[test]
    fn rejects_bad_amounts() {
        assert_eq!(Money::parse_usd("-1"), Err(MoneyError::Negative));
        assert_eq!(Money::parse_usd("1e3"), Err(MoneyError::Syntax));
        assert_eq!(Money::parse_usd(""), Err(MoneyError::Syntax));
        assert_eq!(Money::parse_usd("."), Err(MoneyError::Syntax));
        assert_eq!(Money::parse_usd("1."), Err(MoneyError::Syntax));
        assert_eq!(Money::parse_usd(".5"), Err(MoneyError::Syntax));
        assert_eq!(Money::parse_usd(" 1"), Err(MoneyError::Syntax));
        assert_eq!(Money::parse_usd("+1"), Err(MoneyError::Syntax));
        assert_eq!(
            Money::parse_usd("0.0000000000001"),
            Err(MoneyError::TooPrecise)
        );
        assert_eq!(Money::parse_usd("99999999"), Err(MoneyError::TooLarge));
        assert_eq!(
            Money::parse_usd("9999999999999999999999"),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn display_estimate_rounds_to_cents_with_separators() {
        assert_eq!(
            Money::parse_usd("1234.564").unwrap().display_estimate(),
            "~$1,234.56"
        );
        assert_eq!(
            Money::parse_usd("1234.565").unwrap().display_estimate(),
            "~$1,234.57"
        );
        assert_eq!(Money::ZERO.display_estimate(), "~$0.00");
        assert_eq!(Money::from_picos(1).display_estimate(), "<$0.01");
        assert_eq!(
            Money::parse_usd("0.0049").unwrap().display_estimate(),
            "<$0.01"
        );
        assert_eq!(
            Money::parse_usd("0.005").unwrap().display_estimate(),
            "~$0.01"
        );
        assert_eq!(
            Money::parse_usd("1000000").unwrap().display_estimate(),
            "~$1,000,000.00"
        );
    }

    #[test]
    fn percentages_have_separators() {
        assert_eq!(format_percent(109_714.24), "109,714.2");
        assert_eq!(format_percent(350.0), "350.0");
        assert_eq!(format_percent(12.45), "12.5");
        assert_eq!(format_percent(0.0), "0.0");
    }

    #[test]
    fn percent_is_rounded_to_tenths() {
        let limit = Money::parse_usd("25").unwrap();
        assert_eq!(
            Money::parse_usd("3.10").unwrap().percent_of(limit),
            Some(12.4)
        );
        assert_eq!(
            Money::parse_usd("50").unwrap().percent_of(limit),
            Some(200.0)
        );
        assert_eq!(Money::ZERO.percent_of(Money::ZERO), None);
    }

    #[test]
    fn formats_counts() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(2_896_534), "2,896,534");
        assert_eq!(format_count(-1234), "-1,234");
        assert_eq!(format_quantity(1, "request"), "1 request");
        assert_eq!(format_quantity(0, "request"), "0 requests");
        assert_eq!(format_quantity(10_000, "token"), "10,000 tokens");
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group_thousands("1"), "1");
        assert_eq!(group_thousands("123"), "123");
        assert_eq!(group_thousands("1234"), "1,234");
        assert_eq!(group_thousands("1234567"), "1,234,567");
    }
}
