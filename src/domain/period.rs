//! The analytics ranges (SPEC §5), resolved to days in the ledger's zone.

use std::fmt;

use super::day::Day;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Range {
    /// Today and the six preceding days.
    Days7,
    /// The last 30 days, today included.
    Days30,
    /// The last 90 days, today included.
    Days90,
    /// From the first of the current month to today.
    Month,
}

impl Range {
    pub const ALL: [Range; 4] = [Range::Days7, Range::Days30, Range::Days90, Range::Month];

    /// `30d` for a missing or unknown value: a bad link never breaks the page.
    pub fn parse_or_default(value: Option<&str>) -> Range {
        match value {
            Some("7d") => Range::Days7,
            Some("90d") => Range::Days90,
            Some("month") => Range::Month,
            _ => Range::Days30,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Range::Days7 => "7d",
            Range::Days30 => "30d",
            Range::Days90 => "90d",
            Range::Month => "month",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Range::Days7 => "7 days",
            Range::Days30 => "30 days",
            Range::Days90 => "90 days",
            Range::Month => "This month",
        }
    }

    /// The first and last day of the window ending `today`, both included.
    pub fn window(self, today: Day) -> (Day, Day) {
        let from = match self {
            Range::Days7 => today.plus(-6),
            Range::Days30 => today.plus(-29),
            Range::Days90 => today.plus(-89),
            Range::Month => today.month_start(),
        };
        (from, today)
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use chrono_tz::Tz;

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    fn window(range: Range, today: &str) -> (String, String) {
        let (from, to) = range.window(day(today));
        (from.to_string(), to.to_string())
    }

    #[test]
    fn parses_with_a_30_day_default() {
        assert_eq!(Range::parse_or_default(Some("7d")), Range::Days7);
        assert_eq!(Range::parse_or_default(Some("90d")), Range::Days90);
        assert_eq!(Range::parse_or_default(Some("month")), Range::Month);
        assert_eq!(Range::parse_or_default(Some("30d")), Range::Days30);
        assert_eq!(Range::parse_or_default(None), Range::Days30);
        assert_eq!(Range::parse_or_default(Some("bogus'--")), Range::Days30);
        assert_eq!(Range::parse_or_default(Some("7D")), Range::Days30);
        for r in Range::ALL {
            assert_eq!(Range::parse_or_default(Some(r.as_str())), r);
        }
    }

    #[test]
    fn windows_include_today() {
        assert_eq!(
            window(Range::Days7, "2026-11-27"),
            ("2026-11-21".into(), "2026-11-27".into())
        );
        assert_eq!(
            window(Range::Days30, "2026-11-27"),
            ("2026-10-29".into(), "2026-11-27".into())
        );
        assert_eq!(
            window(Range::Days90, "2026-11-27"),
            ("2026-08-30".into(), "2026-11-27".into())
        );
        assert_eq!(
            window(Range::Month, "2026-11-27"),
            ("2026-11-01".into(), "2026-11-27".into())
        );
    }

    #[test]
    fn month_starts_and_year_ends() {
        assert_eq!(
            window(Range::Month, "2026-11-01"),
            ("2026-11-01".into(), "2026-11-01".into())
        );
        assert_eq!(
            window(Range::Month, "2026-12-31"),
            ("2026-12-01".into(), "2026-12-31".into())
        );
        assert_eq!(
            window(Range::Days7, "2027-01-03"),
            ("2026-12-28".into(), "2027-01-03".into())
        );
        assert_eq!(
            window(Range::Days30, "2027-01-01"),
            ("2026-12-03".into(), "2027-01-01".into())
        );
    }

    #[test]
    fn leap_days() {
        assert_eq!(
            window(Range::Days7, "2024-03-02"),
            ("2024-02-25".into(), "2024-03-02".into())
        );
        assert_eq!(
            window(Range::Month, "2024-02-29"),
            ("2024-02-01".into(), "2024-02-29".into())
        );
        assert_eq!(
            window(Range::Days30, "2024-03-01"),
            ("2024-02-01".into(), "2024-03-01".into())
        );
        assert_eq!(
            window(Range::Days30, "2023-03-01"),
            ("2023-01-31".into(), "2023-03-01".into())
        );
        assert_eq!(
            window(Range::Days90, "2024-03-01"),
            ("2023-12-03".into(), "2024-03-01".into())
        );
    }

    #[test]
    fn dst_changes_do_not_shift_windows() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Shortly after local midnight on the day after the spring change.
        let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-03-29T22:30:00Z")
            .unwrap()
            .to_utc();
        let today = Day::of(now, berlin);
        assert_eq!(today.to_string(), "2026-03-30");
        let (from, to) = Range::Days7.window(today);
        assert_eq!(
            (from.to_string(), to.to_string()),
            ("2026-03-24".into(), "2026-03-30".into())
        );
        // Every window has exactly its number of days, whatever their hours.
        let (from, to) = Range::Days90.window(today);
        assert_eq!(to.number() - from.number() + 1, 90);
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        let autumn: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-02T07:59:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(Day::of(autumn, la).to_string(), "2026-11-01");
        assert_eq!(
            Range::Month.window(Day::of(autumn, la)).0.to_string(),
            "2026-11-01"
        );
    }
}
