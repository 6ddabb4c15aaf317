//! Token prices in US cents per 1M tokens, with up to four fractional digits,
//! and the cost rule of SPEC §3.

use std::fmt;

use super::money::{DecimalError, Money, parse_decimal};
use super::record::Counts;

const PRICE_DIGITS: usize = 4;
/// Price units (10⁻⁴ cent per 1M tokens) per cent per 1M tokens.
const UNITS_PER_CENT: i64 = 10_000;
/// The highest accepted price: 1,000,000 cents ($10,000) per 1M tokens.
/// With at most `MAX_TOKENS` per record this keeps every cost within `i64`.
pub const MAX_PRICE_CENTS: i64 = 1_000_000;

/// A price in 10⁻⁴ US cents per 1M tokens. One unit times one token is
/// exactly one picodollar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("must be a decimal number of US cents per 1M tokens such as \"250\" or \"7.5\"")]
    Syntax,
    #[error("must not be negative")]
    Negative,
    #[error("has more than 4 fractional digits")]
    TooPrecise,
    #[error("is above the maximum of 1000000 cents per 1M tokens")]
    TooLarge,
}

impl Price {
    pub const ZERO: Price = Price(0);

    pub fn from_units(units: i64) -> Result<Price, PriceError> {
        if units < 0 {
            Err(PriceError::Negative)
        } else if units > MAX_PRICE_CENTS * UNITS_PER_CENT {
            Err(PriceError::TooLarge)
        } else {
            Ok(Price(units))
        }
    }

    pub const fn units(self) -> i64 {
        self.0
    }

    /// Parses cents per 1M tokens: `"250"`, `"7.5"`, `"0.0125"`.
    pub fn parse_cents(text: &str) -> Result<Price, PriceError> {
        let (int, frac) = parse_decimal(text, PRICE_DIGITS).map_err(|e| match e {
            DecimalError::Syntax => PriceError::Syntax,
            DecimalError::Negative => PriceError::Negative,
            DecimalError::TooPrecise => PriceError::TooPrecise,
            DecimalError::TooLarge => PriceError::TooLarge,
        })?;
        if int > MAX_PRICE_CENTS {
            return Err(PriceError::TooLarge);
        }
        Price::from_units(int * UNITS_PER_CENT + frac)
    }

    fn cost(self, tokens: i64) -> i64 {
        self.0 * tokens
    }
}

/// Cents per 1M tokens with the fraction trimmed: `"250"`, `"7.5"`.
impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let int = self.0 / UNITS_PER_CENT;
        let frac = self.0 % UNITS_PER_CENT;
        if frac == 0 {
            write!(f, "{int}")
        } else {
            let digits = format!("{frac:04}");
            write!(f, "{int}.{}", digits.trim_end_matches('0'))
        }
    }
}

/// A model's prices. Cache prices default to the input price.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pricing {
    pub input: Price,
    pub output: Price,
    pub cache_read: Option<Price>,
    pub cache_write: Option<Price>,
}

impl Pricing {
    pub fn is_free(&self) -> bool {
        self.input == Price::ZERO
            && self.output == Price::ZERO
            && self.cache_read.unwrap_or(Price::ZERO) == Price::ZERO
            && self.cache_write.unwrap_or(Price::ZERO) == Price::ZERO
    }

    /// The cost of one call: every prompt token once, at its own rate.
    /// Counts are validated (`cache_read + cache_write <= prompt`, each at
    /// most `MAX_TOKENS`), so the arithmetic stays within `i64`.
    pub fn cost(&self, counts: &Counts) -> Money {
        let uncached = counts.prompt_tokens - counts.cache_read_tokens - counts.cache_write_tokens;
        let picos = self.input.cost(uncached)
            + self
                .cache_read
                .unwrap_or(self.input)
                .cost(counts.cache_read_tokens)
            + self
                .cache_write
                .unwrap_or(self.input)
                .cost(counts.cache_write_tokens)
            + self.output.cost(counts.completion_tokens);
        Money::from_picos(picos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::MAX_TOKENS;

    fn p(s: &str) -> Price {
        Price::parse_cents(s).unwrap()
    }

    #[test]
    fn parses_and_prints_prices() {
        assert_eq!(p("250").units(), 2_500_000);
        assert_eq!(p("7.5").units(), 75_000);
        assert_eq!(p("0.0001").units(), 1);
        assert_eq!(p("250").to_string(), "250");
        assert_eq!(p("7.5").to_string(), "7.5");
        assert_eq!(p("0.0125").to_string(), "0.0125");
        assert_eq!(p("1000000").to_string(), "1000000");
    }

    #[test]
    fn rejects_bad_prices() {
        assert_eq!(Price::parse_cents("-1"), Err(PriceError::Negative));
        assert_eq!(Price::parse_cents("1.00001"), Err(PriceError::TooPrecise));
        assert_eq!(
            Price::parse_cents("1000000.0001"),
            Err(PriceError::TooLarge)
        );
        assert_eq!(Price::parse_cents("abc"), Err(PriceError::Syntax));
        assert_eq!(Price::parse_cents("NaN"), Err(PriceError::Syntax));
        assert_eq!(Price::from_units(-5), Err(PriceError::Negative));
    }

    fn counts(prompt: i64, completion: i64, cache_read: i64, cache_write: i64) -> Counts {
        Counts {
            prompt_tokens: prompt,
            completion_tokens: completion,
            cache_read_tokens: cache_read,
            cache_write_tokens: cache_write,
            ..Counts::default()
        }
    }

    #[test]
    fn plain_cost_is_exact() {
        let pricing = Pricing {
            input: p("250"),
            output: p("1000"),
            ..Pricing::default()
        };
        assert_eq!(
            pricing.cost(&counts(1234, 567, 0, 0)).to_string(),
            "0.008755"
        );
    }

    #[test]
    fn cached_tokens_use_their_own_price() {
        let pricing = Pricing {
            input: p("15"),
            output: p("60"),
            cache_read: Some(p("7.5")),
            cache_write: None,
        };
        let cost = pricing.cost(&counts(1_000_000, 100_000, 400_000, 0));
        assert_eq!(cost.to_string(), "0.180000");
    }

    #[test]
    fn cache_prices_default_to_input() {
        let pricing = Pricing {
            input: p("300"),
            output: p("1500"),
            ..Pricing::default()
        };
        assert_eq!(
            pricing.cost(&counts(1000, 0, 300, 200)),
            pricing.cost(&counts(1000, 0, 0, 0))
        );
        let with_write = Pricing {
            cache_write: Some(p("375")),
            ..pricing
        };
        // 800 at 300 + 200 at 375 = 240,000 + 75,000 cents·tokens/1M
        assert_eq!(
            with_write.cost(&counts(1000, 0, 0, 200)).to_string(),
            "0.003150"
        );
    }

    #[test]
    fn free_model_costs_nothing() {
        let pricing = Pricing::default();
        assert!(pricing.is_free());
        assert_eq!(pricing.cost(&counts(5000, 5000, 0, 0)), Money::ZERO);
    }

    #[test]
    fn the_largest_record_fits() {
        let max = Price::parse_cents("1000000").unwrap();
        let pricing = Pricing {
            input: max,
            output: max,
            cache_read: Some(max),
            cache_write: Some(max),
        };
        let cost = pricing.cost(&counts(
            MAX_TOKENS,
            MAX_TOKENS,
            MAX_TOKENS / 2,
            MAX_TOKENS / 2,
        ));
        assert_eq!(cost.to_string(), "2000000.000000");
    }
}
