//! Calendar days in the ledger's time zone.
//!
//! A day is stored as the number of days since 1970-01-01, so both stores
//! compare and group integers and "the last 90 days" is a range scan.

use std::fmt;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i32);

const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");

impl Day {
    pub const fn from_number(n: i32) -> Day {
        Day(n)
    }

    pub const fn number(self) -> i32 {
        self.0
    }

    pub fn from_date(date: NaiveDate) -> Day {
        Day((date - EPOCH).num_days() as i32)
    }

    pub fn date(self) -> NaiveDate {
        if self.0 >= 0 {
            EPOCH + Days::new(self.0 as u64)
        } else {
            EPOCH - Days::new(self.0.unsigned_abs() as u64)
        }
    }

    /// The local calendar day of an instant in `tz`. DST changes do not
    /// matter: a 23- or 25-hour day is still one day.
    pub fn of(instant: DateTime<Utc>, tz: Tz) -> Day {
        Day::from_date(instant.with_timezone(&tz).date_naive())
    }

    pub fn parse(text: &str) -> Option<Day> {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(Day::from_date)
    }

    pub fn plus(self, days: i32) -> Day {
        Day(self.0 + days)
    }

    /// The first day of this day's calendar month.
    pub fn month_start(self) -> Day {
        Day::from_date(self.date().with_day(1).expect("day 1 exists"))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.date().format("%Y-%m-%d"))
    }
}

impl serde::Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Parses an IANA time-zone name.
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| {
        format!("unknown time zone {name:?}; use an IANA name such as \"Europe/Berlin\"")
    })
}

/// Whether two zone names mean the same zone: equal, or both a name of UTC
/// (systems report "Etc/UTC" where people write "UTC").
pub fn same_zone(a: &str, b: &str) -> bool {
    const UTC: [&str; 8] = [
        "UTC",
        "Etc/UTC",
        "UCT",
        "Etc/UCT",
        "Universal",
        "Etc/Universal",
        "Zulu",
        "Etc/Zulu",
    ];
    a == b || (UTC.contains(&a) && UTC.contains(&b))
}

/// The zone of the machine, or UTC when it cannot be told.
pub fn system_timezone() -> Tz {
    iana_time_zone::get_timezone()
        .ok()
        .and_then(|name| name.parse().ok())
        .unwrap_or(Tz::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn numbers_and_dates_round_trip() {
        assert_eq!(Day::parse("1970-01-01"), Some(Day::from_number(0)));
        assert_eq!(Day::parse("1969-12-31"), Some(Day::from_number(-1)));
        let d = Day::parse("2024-02-29").unwrap();
        assert_eq!(d.to_string(), "2024-02-29");
        assert_eq!(d.plus(1).to_string(), "2024-03-01");
        assert_eq!(Day::from_number(-1).to_string(), "1969-12-31");
        assert_eq!(Day::parse("2023-02-29"), None);
        assert_eq!(Day::parse("bogus"), None);
    }

    #[test]
    fn day_follows_local_midnight() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 23:30 UTC on the 26th is already the 27th in Berlin (UTC+1 in November).
        assert_eq!(
            Day::of(at("2026-11-26T23:30:00Z"), berlin).to_string(),
            "2026-11-27"
        );
        assert_eq!(
            Day::of(at("2026-11-26T22:59:59Z"), berlin).to_string(),
            "2026-11-26"
        );
        assert_eq!(
            Day::of(at("2026-11-26T23:30:00Z"), Tz::UTC).to_string(),
            "2026-11-26"
        );
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        assert_eq!(
            Day::of(at("2026-11-27T07:59:00Z"), la).to_string(),
            "2026-11-26"
        );
    }

    #[test]
    fn dst_days_are_single_days() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 2026-03-29 has 23 hours in Berlin: from 2026-03-28T23:00Z to 2026-03-29T22:00Z.
        assert_eq!(
            Day::of(at("2026-03-28T22:59:59Z"), berlin).to_string(),
            "2026-03-28"
        );
        assert_eq!(
            Day::of(at("2026-03-28T23:00:00Z"), berlin).to_string(),
            "2026-03-29"
        );
        assert_eq!(
            Day::of(at("2026-03-29T21:59:59Z"), berlin).to_string(),
            "2026-03-29"
        );
        assert_eq!(
            Day::of(at("2026-03-29T22:00:00Z"), berlin).to_string(),
            "2026-03-30"
        );
        // 2026-10-25 has 25 hours: from 2026-10-24T22:00Z to 2026-10-25T23:00Z.
        assert_eq!(
            Day::of(at("2026-10-25T22:30:00Z"), berlin).to_string(),
            "2026-10-25"
        );
        assert_eq!(
            Day::of(at("2026-10-25T23:00:00Z"), berlin).to_string(),
            "2026-10-26"
        );
    }

    #[test]
    fn month_start() {
        assert_eq!(
            Day::parse("2024-02-29").unwrap().month_start().to_string(),
            "2024-02-01"
        );
        assert_eq!(
            Day::parse("2026-01-01").unwrap().month_start().to_string(),
            "2026-01-01"
        );
    }

    #[test]
    fn utc_has_several_names() {
        assert!(same_zone("UTC", "Etc/UTC"));
        assert!(same_zone("Europe/Berlin", "Europe/Berlin"));
        assert!(!same_zone("UTC", "Europe/London"));
        assert!(!same_zone("Europe/Berlin", "Europe/Paris"));
    }

    #[test]
    fn timezone_names() {
        assert!(parse_timezone("Europe/Berlin").is_ok());
        let err = parse_timezone("Mars/Olympus").unwrap_err();
        assert!(err.contains("Mars/Olympus"));
    }
}
