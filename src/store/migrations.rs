//! The schema migrations of each backend, compiled in. Both folders hold the
//! same file names; a migration's number is its version.

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migrations {
    ($backend:literal: $($version:literal => $name:literal),* $(,)?) => {
        &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../../migrations/", $backend, "/", $name, ".sql")),
        }),*]
    };
}

pub const SQLITE: &[Migration] = migrations!("sqlite": 1 => "0001_init", 2 => "0002_rollups", 3 => "0003_demo_marks", 4 => "0004_sessions", 5 => "0005_reservations", 6 => "0006_user_weeks", 7 => "0007_idempotency_log", 8 => "0008_idempotency_age", 9 => "0009_key_fingerprints", 10 => "0010_cost_in_two_parts");
pub const POSTGRES: &[Migration] = migrations!("postgres": 1 => "0001_init", 2 => "0002_rollups", 3 => "0003_demo_marks", 4 => "0004_sessions", 5 => "0005_reservations", 6 => "0006_user_weeks", 7 => "0007_idempotency_log", 8 => "0008_idempotency_age", 9 => "0009_key_fingerprints", 10 => "0010_cost_in_two_parts");

/// The newest migration's version: the schema a migrated database has.
pub const SCHEMA_VERSION: i64 = SQLITE[SQLITE.len() - 1].version;

/// Whether a version is applied; recording one as applied. (`$N`
/// placeholders, which both backends read.)
pub const IS_APPLIED: &str = "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)";
pub const MARK_APPLIED: &str =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)";

/// The table that records applied versions, created before any migration.
pub const HISTORY_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |m: &[Migration]| m.iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
        assert_eq!(names(SQLITE), names(POSTGRES));
        for (i, m) in SQLITE.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
        }
    }

    /// Migration 10 splits every stored cost into whole dollars and the
    /// picodollars below a dollar, keeping each amount exact.
    #[test]
    fn stored_costs_are_split_into_dollars_and_picodollars() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let (before, split) = SQLITE.split_at(9);
        for m in before {
            conn.execute_batch(m.sql).unwrap();
        }
        let costs: [i64; 4] = [0, 999_999_999_999, 1_000_000_000_000, i64::MAX];
        for (day, cost) in (0_i64..).zip(costs) {
            conn.execute(
                "INSERT INTO usage_daily VALUES (?1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, ?2)",
                rusqlite::params![day, cost],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO usage_rollup (dim, day, item, requests, tokens, cost)
                VALUES (0, ?1, 0, 1, 0, ?2)",
                rusqlite::params![day, cost],
            )
            .unwrap();
        }
        assert_eq!(split[0].version, 10);
        conn.execute_batch(split[0].sql).unwrap();
        for table in ["usage_daily", "usage_rollup"] {
            let parts: Vec<(i64, i64)> = conn
                .prepare(&format!(
                    "SELECT cost_dollars, cost_picos FROM {table} ORDER BY day"
                ))
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let expected: Vec<(i64, i64)> = costs
                .iter()
                .map(|c| (c / 1_000_000_000_000, c % 1_000_000_000_000))
                .collect();
            assert_eq!(parts, expected, "{table}");
            assert_eq!(expected[3], (9_223_372, 36_854_775_807));
        }
    }
}
