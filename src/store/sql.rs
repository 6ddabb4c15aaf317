//! SQL text shared by both backends. Placeholders are `$1, $2, …` in order of
//! first use (SQLite numbers `$N` parameters by appearance), booleans are
//! written TRUE/FALSE, and upserts qualify the target table, so each
//! statement runs unchanged on SQLite and PostgreSQL.

/// The columns of an aggregate row an upsert writes, in order.
macro_rules! usage_columns {
    () => {
        "INSERT INTO usage_daily (day, service, provider_id, model_id, configuration_id, task_id,
        user_id, source_id, requests, prompt_tokens, completion_tokens, cache_read_tokens,
        cache_write_tokens, characters, audio_seconds, images, cost_dollars, cost_picos)"
    };
}
/// What an upsert adds to a stored cost: the picodollars below a dollar
/// carry into the whole dollars. Whole dollars that would pass 64 bits
/// (about 9.2 × 10¹⁸ dollars) become NULL, which the NOT NULL column refuses
/// (SQLite would otherwise store the sum as a float): the store reports it
/// as too large.
macro_rules! add_cost {
    ($table:literal) => {
        concat!(
            "cost_dollars = CASE WHEN ",
            $table,
            ".cost_dollars <= 9223372036854775806 - excluded.cost_dollars
            THEN ",
            $table,
            ".cost_dollars + excluded.cost_dollars
                + (",
            $table,
            ".cost_picos + excluded.cost_picos) / 1000000000000 END,
        cost_picos = (",
            $table,
            ".cost_picos + excluded.cost_picos) % 1000000000000"
        )
    };
}
/// What an upsert adds to an existing aggregate row.
macro_rules! add_usage {
    () => {
        concat!(
            "ON CONFLICT (day, service, provider_id, model_id, configuration_id, task_id, user_id, source_id)
    DO UPDATE SET requests = usage_daily.requests + excluded.requests,
        prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
        completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
        cache_read_tokens = usage_daily.cache_read_tokens + excluded.cache_read_tokens,
        cache_write_tokens = usage_daily.cache_write_tokens + excluded.cache_write_tokens,
        characters = usage_daily.characters + excluded.characters,
        audio_seconds = usage_daily.audio_seconds + excluded.audio_seconds,
        images = usage_daily.images + excluded.images, ",
            $crate::store::sql::add_cost!("usage_daily")
        )
    };
}
macro_rules! rollup_columns {
    () => {
        "INSERT INTO usage_rollup (dim, day, item, requests, tokens, cost_dollars, cost_picos)"
    };
}
/// What an upsert adds to an existing rollup row.
macro_rules! add_rollup {
    () => {
        concat!(
            "ON CONFLICT (dim, day, item) DO UPDATE SET requests = usage_rollup.requests + excluded.requests,
        tokens = usage_rollup.tokens + excluded.tokens, ",
            $crate::store::sql::add_cost!("usage_rollup")
        )
    };
}
pub(crate) use {add_cost, add_rollup, add_usage, rollup_columns, usage_columns};
/// A stored cost summed in its two parts (`rows::totals` joins them). Each
/// row's picodollars are below a dollar, so their sum passes 64 bits only
/// over more than 9 million rows, far more than any window reads (and the
/// databases report an overflow rather than wrap).
macro_rules! summed_cost {
    () => {
        "CAST(COALESCE(SUM(cost_dollars), 0) AS BIGINT), CAST(COALESCE(SUM(cost_picos), 0) AS BIGINT)"
    };
}
/// Requests, tokens and cost summed.
macro_rules! summed_totals {
    () => {
        concat!(
            "CAST(COALESCE(SUM(requests), 0) AS BIGINT), CAST(COALESCE(SUM(tokens), 0) AS BIGINT), ",
            summed_cost!()
        )
    };
}

pub const TIMEZONE: &str = "SELECT timezone FROM settings WHERE id = 1";
pub const INIT_TIMEZONE: &str = "INSERT INTO settings (id, timezone, created_at) VALUES (1, $1, $2)
    ON CONFLICT (id) DO NOTHING";

pub const PROVIDERS: &str = "SELECT identifier, name, adapter_type, active, discovered
    FROM providers ORDER BY identifier";
pub const SAVE_PROVIDER: &str = "INSERT INTO providers (identifier, name, adapter_type, active, discovered)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (identifier) DO UPDATE SET name = excluded.name, adapter_type = excluded.adapter_type,
        active = excluded.active, discovered = excluded.discovered";

pub const MODELS: &str = "SELECT m.identifier, m.name, p.identifier, m.model_id, m.input_price,
        m.output_price, m.cache_read_price, m.cache_write_price, m.active, m.discovered
    FROM models m JOIN providers p ON p.id = m.provider_id ORDER BY m.identifier";
pub const SAVE_MODEL: &str =
    "INSERT INTO models (identifier, name, provider_id, model_id, input_price,
        output_price, cache_read_price, cache_write_price, active, discovered)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (identifier) DO UPDATE SET name = excluded.name, provider_id = excluded.provider_id,
        model_id = excluded.model_id, input_price = excluded.input_price,
        output_price = excluded.output_price, cache_read_price = excluded.cache_read_price,
        cache_write_price = excluded.cache_write_price, active = excluded.active,
        discovered = excluded.discovered";

pub const CONFIGURATIONS: &str =
    "SELECT c.identifier, c.name, m.identifier, c.max_requests_per_day,
        c.max_tokens_per_day, c.max_cost_per_day, c.discovered
    FROM configurations c LEFT JOIN models m ON m.id = c.model_id ORDER BY c.identifier";
pub const SAVE_CONFIGURATION: &str = "INSERT INTO configurations (identifier, name, model_id,
        max_requests_per_day, max_tokens_per_day, max_cost_per_day, discovered)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (identifier) DO UPDATE SET name = excluded.name, model_id = excluded.model_id,
        max_requests_per_day = excluded.max_requests_per_day,
        max_tokens_per_day = excluded.max_tokens_per_day,
        max_cost_per_day = excluded.max_cost_per_day, discovered = excluded.discovered";

pub const TASKS: &str = "SELECT t.identifier, t.name, c.identifier, t.discovered
    FROM tasks t LEFT JOIN configurations c ON c.id = t.configuration_id ORDER BY t.identifier";
pub const SAVE_TASK: &str = "INSERT INTO tasks (identifier, name, configuration_id, discovered)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (identifier) DO UPDATE SET name = excluded.name,
        configuration_id = excluded.configuration_id, discovered = excluded.discovered";

pub const PROVIDER_ID: &str = "SELECT id FROM providers WHERE identifier = $1";
pub const MODEL_ID: &str = "SELECT id FROM models WHERE identifier = $1";
pub const CONFIGURATION_ID: &str = "SELECT id FROM configurations WHERE identifier = $1";
pub const USER_ID: &str = "SELECT id FROM users WHERE username = $1";

pub const USERS: &str = "SELECT username, display_name, role, active, discovered, password_hash
    FROM users ORDER BY username";
pub const USER: &str = "SELECT username, display_name, role, active, discovered, password_hash
    FROM users WHERE username = $1";
pub const USER_DISCOVERED: &str = "SELECT discovered FROM users WHERE username = $1";
pub const CLAIM_USER: &str = "UPDATE users SET display_name = $1, role = $2, password_hash = $3,
    discovered = FALSE WHERE username = $4";
pub const INSERT_USER: &str =
    "INSERT INTO users (username, display_name, role, password_hash, created_at)
    VALUES ($1, $2, $3, $4, $5)";
pub const SET_PASSWORD: &str = "UPDATE users SET password_hash = $1 WHERE username = $2";
/// Role and profile changes keep an active administrator: each is one
/// statement that changes nothing when it would demote or deactivate the
/// last one, so two administrators demoting each other at the same moment
/// cannot both succeed (PostgreSQL, whose statements do not see each other's
/// uncommitted rows, takes an advisory lock around them as well).
/// Changes that could leave nobody to sign in to the web UI (an active
/// administrator with a password) happen only while another one remains.
pub const SET_ROLE: &str = "UPDATE users SET role = $1 WHERE username = $2
    AND ($1 = 'admin' OR NOT (role = 'admin' AND active AND password_hash IS NOT NULL)
        OR EXISTS (SELECT 1 FROM users o WHERE o.role = 'admin' AND o.active
            AND o.password_hash IS NOT NULL AND o.username <> $2))";
pub const SET_PROFILE: &str = "UPDATE users SET display_name = $1, active = $2 WHERE username = $3
    AND ($2 OR NOT (role = 'admin' AND active AND password_hash IS NOT NULL)
        OR EXISTS (SELECT 1 FROM users o WHERE o.role = 'admin' AND o.active
            AND o.password_hash IS NOT NULL AND o.username <> $3))";

pub const BUDGET: &str = "SELECT b.max_requests_per_day, b.max_tokens_per_day, b.max_cost_per_day,
        b.max_requests_per_month, b.max_tokens_per_month, b.max_cost_per_month, b.enforced
    FROM budgets b WHERE b.user_id = $1";
pub const SET_BUDGET: &str = "INSERT INTO budgets (user_id, max_requests_per_day, max_tokens_per_day,
        max_cost_per_day, max_requests_per_month, max_tokens_per_month, max_cost_per_month, enforced)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (user_id) DO UPDATE SET
        max_requests_per_day = excluded.max_requests_per_day,
        max_tokens_per_day = excluded.max_tokens_per_day,
        max_cost_per_day = excluded.max_cost_per_day,
        max_requests_per_month = excluded.max_requests_per_month,
        max_tokens_per_month = excluded.max_tokens_per_month,
        max_cost_per_month = excluded.max_cost_per_month,
        enforced = excluded.enforced";

pub const INSERT_TOKEN: &str = "INSERT INTO api_tokens (name, scope, secret_hash, created_at)
    VALUES ($1, $2, $3, $4) RETURNING id";
pub const TOKENS: &str = "SELECT id, name, scope, created_at, last_used_at, revoked_at
    FROM api_tokens ORDER BY id";
pub const TOKEN: &str = "SELECT id, name, scope, created_at, last_used_at, revoked_at
    FROM api_tokens WHERE id = $1";
pub const TOKEN_BY_HASH: &str = "SELECT id, name, scope, created_at, last_used_at, revoked_at
    FROM api_tokens WHERE secret_hash = $1";
pub const REVOKE_TOKEN: &str =
    "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2";
pub const TOUCH_TOKEN: &str = "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2";

pub const HAS_USAGE: &str = "SELECT EXISTS (SELECT 1 FROM usage_daily)";

/// Aggregate rows of a day range with names; sorted by the caller, so both
/// backends order text the same way.
pub const USAGE_ROWS: &str = "SELECT d.day, d.service, p.identifier, m.identifier, c.identifier,
        t.identifier, u.username, s.label, d.requests, d.prompt_tokens, d.completion_tokens,
        d.cache_read_tokens, d.cache_write_tokens, d.characters, d.audio_seconds, d.images, d.cost_dollars,
        d.cost_picos
    FROM usage_daily d
    JOIN providers p ON p.id = d.provider_id
    LEFT JOIN models m ON m.id = d.model_id
    LEFT JOIN configurations c ON c.id = d.configuration_id
    LEFT JOIN tasks t ON t.id = d.task_id
    LEFT JOIN users u ON u.id = d.user_id
    LEFT JOIN sources s ON s.id = d.source_id
    WHERE d.day BETWEEN $1 AND $2";

/// Sums per item of one rollup dimension over a day range.
/// Plan: SEARCH usage_rollup USING PRIMARY KEY (dim=? AND day>? AND day<?),
/// so the cost follows the window, never the history.
pub const ROLLUP: &str = concat!(
    "SELECT item, ",
    summed_totals!(),
    " FROM usage_rollup WHERE dim = $1 AND day BETWEEN $2 AND $3 GROUP BY item"
);
/// The same over leading days, whole weeks and trailing days of a
/// dimension with weekly rows. Plan: three primary key ranges.
pub const ROLLUP_WEEKS: &str = concat!(
    "SELECT item, ",
    summed_totals!(),
    " FROM (
        SELECT item, requests, tokens, cost_dollars, cost_picos FROM usage_rollup
            WHERE dim = $1 AND day BETWEEN $2 AND $3
        UNION ALL
        SELECT item, requests, tokens, cost_dollars, cost_picos FROM usage_rollup
            WHERE dim = $4 AND day BETWEEN $5 AND $6
        UNION ALL
        SELECT item, requests, tokens, cost_dollars, cost_picos FROM usage_rollup
            WHERE dim = $7 AND day BETWEEN $8 AND $9
    ) parts GROUP BY item"
);
/// One row per day with usage (dim 0 has one item). Plan: primary key range.
pub const DAILY_TOTALS: &str = "SELECT day, requests, tokens, cost_dollars, cost_picos
    FROM usage_rollup
    WHERE dim = 0 AND day BETWEEN $1 AND $2 ORDER BY day";
/// Plan: primary key range on the model rollup, then the models' primary key.
pub const UNPRICED_REQUESTS: &str = "SELECT CAST(COALESCE(SUM(r.requests), 0) AS BIGINT)
    FROM usage_rollup r JOIN models m ON m.id = r.item
    WHERE r.dim = 2 AND r.day BETWEEN $1 AND $2 AND m.input_price IS NULL";
pub const PROVIDER_LABELS: &str = "SELECT id, identifier, name FROM providers";
pub const MODEL_LABELS: &str = "SELECT id, identifier, name FROM models";
pub const SOURCE_LABELS: &str = "SELECT id, label, label FROM sources";
pub const USER_LABELS: &str = "SELECT id, username, display_name FROM users";
pub const CONFIGURATION_LABELS: &str = "SELECT id, identifier, name FROM configurations";
pub const TASK_LABELS: &str = "SELECT id, identifier, name FROM tasks";
pub const MONTHLY_COST_LIMITS: &str = "SELECT user_id, max_cost_per_month FROM budgets
    WHERE enforced = TRUE AND max_cost_per_month > 0";

/// Usage is demo usage when everything it names is demo data: a record of
/// a demo model by a real user or from a real source is real usage.
/// Plan: a primary key range on each dimension's rollup, joined to its table.
pub const HAS_REAL_USAGE: &str = "SELECT
    EXISTS (SELECT 1 FROM usage_rollup r JOIN providers p ON p.id = r.item
        WHERE r.dim = 1 AND p.demo = FALSE)
    OR EXISTS (SELECT 1 FROM usage_rollup r JOIN models m ON m.id = r.item
        WHERE r.dim = 2 AND m.demo = FALSE)
    OR EXISTS (SELECT 1 FROM usage_rollup r JOIN sources s ON s.id = r.item
        WHERE r.dim = 4 AND s.demo = FALSE)
    OR EXISTS (SELECT 1 FROM usage_rollup r JOIN users u ON u.id = r.item
        WHERE r.dim = 5 AND u.demo = FALSE)
    OR EXISTS (SELECT 1 FROM usage_rollup r JOIN configurations c ON c.id = r.item
        WHERE r.dim = 6 AND c.demo = FALSE)
    OR EXISTS (SELECT 1 FROM usage_rollup r JOIN tasks t ON t.id = r.item
        WHERE r.dim = 7 AND t.demo = FALSE)";
pub const MARK_DEMO_PROVIDER: &str = "UPDATE providers SET demo = TRUE WHERE identifier = $1";
pub const MARK_DEMO_MODEL: &str = "UPDATE models SET demo = TRUE WHERE identifier = $1";
pub const MARK_DEMO_CONFIGURATION: &str =
    "UPDATE configurations SET demo = TRUE WHERE identifier = $1";
pub const MARK_DEMO_TASK: &str = "UPDATE tasks SET demo = TRUE WHERE identifier = $1";
pub const MARK_DEMO_USER: &str = "UPDATE users SET demo = TRUE WHERE username = $1";
pub const MARK_DEMO_SOURCE: &str = "UPDATE sources SET demo = TRUE WHERE label = $1";
/// Run in order, in one transaction, after checking there is no real usage
/// (so all usage is demo usage).
pub const DELETE_DEMO_DATA: [&str; 9] = [
    "DELETE FROM usage_daily",
    "DELETE FROM usage_rollup",
    "DELETE FROM budgets WHERE user_id IN (SELECT id FROM users WHERE demo = TRUE)",
    "DELETE FROM users WHERE demo = TRUE",
    "DELETE FROM tasks WHERE demo = TRUE",
    "DELETE FROM configurations WHERE demo = TRUE",
    "DELETE FROM models WHERE demo = TRUE",
    "DELETE FROM providers WHERE demo = TRUE",
    "DELETE FROM sources WHERE demo = TRUE",
];

/// The statement marking one kind of demo record, with its identifiers.
pub fn demo_marks(marks: &super::DemoMarks) -> [(&'static str, &[String]); 6] {
    [
        (MARK_DEMO_PROVIDER, &marks.providers),
        (MARK_DEMO_MODEL, &marks.models),
        (MARK_DEMO_CONFIGURATION, &marks.configurations),
        (MARK_DEMO_TASK, &marks.tasks),
        (MARK_DEMO_USER, &marks.users),
        (MARK_DEMO_SOURCE, &marks.sources),
    ]
}

pub const INSERT_SESSION: &str =
    "INSERT INTO sessions (secret_hash, user_id, csrf_token, created_at, expires_at)
    SELECT $1, id, $2, $3, $4 FROM users WHERE username = $5";
pub const SESSION: &str = "SELECT u.username, u.display_name, u.role, u.active, u.discovered,
        u.password_hash, s.csrf_token, s.expires_at
    FROM sessions s JOIN users u ON u.id = s.user_id
    WHERE s.secret_hash = $1 AND s.expires_at > $2";
/// Ends a user's sessions: one opened before a new password, a demotion or
/// a deactivation must not outlive it (nor come back on reactivation).
pub const END_SESSIONS: &str =
    "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE username = $1)";
pub const DELETE_SESSION: &str = "DELETE FROM sessions WHERE secret_hash = $1 OR expires_at <= $2";

/// The configuration `$1`, or else the one task `$2` runs through.
pub const CONFIGURATION_LIMITS: &str =
    "SELECT id, max_requests_per_day, max_tokens_per_day, max_cost_per_day, identifier
    FROM configurations WHERE identifier = COALESCE($1, (SELECT c.identifier
        FROM tasks t JOIN configurations c ON c.id = t.configuration_id WHERE t.identifier = $2))";
/// One item's usage over the days `$1..=$2`: dimension `$3`, item `$4`.
/// Plan: one primary-key lookup (dim, day, item) per day. A range over
/// (dim, day) filtered on the item would read every item's rows of the
/// window (62,000 for a month of 2,000 users: 3.2 ms on SQLite and 14 ms on
/// PostgreSQL instead of 0.03 and 0.6 ms), on every budget check.
pub const ROLLUP_ITEM: &str = concat!(
    "WITH RECURSIVE days (day) AS (
        SELECT CAST($1 AS INTEGER) WHERE $1 <= $2
        UNION ALL SELECT day + 1 FROM days WHERE day < $2)
    SELECT ",
    summed_totals!(),
    // CROSS JOIN keeps SQLite's loop over the days outermost whatever its
    // statistics say (PostgreSQL reads it as an inner join).
    " FROM days CROSS JOIN usage_rollup r WHERE r.dim = $3 AND r.day = days.day AND r.item = $4"
);
/// Live holds; plan: the partial indexes on held reservations.
/// A reservation holds one request.
macro_rules! held_totals {
    () => {
        concat!(
            // A hold's cost is one column of picodollars: summed in two
            // parts, like a stored total's, so that no sum passes 64 bits.
            "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(tokens), 0) AS BIGINT),
            CAST(COALESCE(SUM(cost / 1000000000000), 0) AS BIGINT),
            CAST(COALESCE(SUM(cost % 1000000000000), 0) AS BIGINT) FROM reservations"
        )
    };
}
pub const HELD_BY_USER: &str = concat!(
    held_totals!(),
    " WHERE user_id = $1 AND state = 'held' AND expires_at > $2"
);
pub const HELD_BY_CONFIGURATION: &str = concat!(
    held_totals!(),
    " WHERE configuration_id = $1 AND state = 'held' AND expires_at > $2"
);
pub const INSERT_RESERVATION: &str =
    "INSERT INTO reservations (id, user_id, configuration_id, tokens, cost, state,
        created_at, expires_at)
    VALUES ($1, $2, $3, $4, $5, 'held', $6, $7)";
pub const RELEASE_RESERVATION: &str = "UPDATE reservations SET state = 'released'
    WHERE id = $1 AND state = 'held' AND expires_at > $2";
/// The user and configuration a reservation holds for, and the user's name
/// (NULL when the user was unknown when it reserved: its id is then 0).
pub const RESERVATION_OWNERS: &str = "SELECT r.user_id, r.configuration_id, u.username
    FROM reservations r LEFT JOIN users u ON u.id = r.user_id WHERE r.id = $1";
pub const SETTLE_RESERVATION: &str =
    "UPDATE reservations SET state = 'settled' WHERE id = $1 AND state = 'held'";
pub const PRUNE_RESERVATIONS: &str = "DELETE FROM reservations WHERE expires_at < $1";

/// The label query of a dimension that has catalog records.
pub fn labels(dim: super::Dimension) -> Option<&'static str> {
    use super::Dimension as D;
    match dim {
        D::Provider => Some(PROVIDER_LABELS),
        D::Model => Some(MODEL_LABELS),
        D::Source => Some(SOURCE_LABELS),
        D::User => Some(USER_LABELS),
        D::Configuration => Some(CONFIGURATION_LABELS),
        D::Task => Some(TASK_LABELS),
        D::Total | D::Service => None,
    }
}

/// Catalog lookups of the recording path, one name at a time.
pub const LOOKUP_PROVIDER: &str = "SELECT id FROM providers WHERE identifier = $1";
pub const LOOKUP_MODELS: &str =
    "SELECT m.id, m.identifier, m.provider_id, p.identifier, m.model_id,
        m.input_price, m.output_price, m.cache_read_price, m.cache_write_price
    FROM models m JOIN providers p ON p.id = m.provider_id
    WHERE m.identifier = $1 OR m.model_id = $1";
pub const LOOKUP_CONFIGURATION: &str = "SELECT id FROM configurations WHERE identifier = $1";
pub const LOOKUP_TASK: &str = "SELECT id FROM tasks WHERE identifier = $1";
/// The configuration a task runs through (NULL: none).
pub const TASK_CONFIGURATION: &str = "SELECT configuration_id FROM tasks WHERE id = $1";
pub const LOOKUP_USER: &str = "SELECT id FROM users WHERE username = $1";
pub const LOOKUP_SOURCE: &str = "SELECT id FROM sources WHERE label = $1";

/// Registration of discovered catalog records; a concurrent registration of
/// the same name wins and is looked up afterwards.
pub const DISCOVER_PROVIDER: &str =
    "INSERT INTO providers (identifier, name, adapter_type, discovered)
    VALUES ($1, $1, 'unknown', TRUE) ON CONFLICT (identifier) DO NOTHING";
pub const DISCOVER_MODEL: &str =
    "INSERT INTO models (identifier, name, provider_id, model_id, discovered)
    SELECT $1, $2, id, $2, TRUE FROM providers WHERE identifier = $3
    ON CONFLICT (identifier) DO NOTHING";
pub const DISCOVER_CONFIGURATION: &str = "INSERT INTO configurations (identifier, name, discovered)
    VALUES ($1, $1, TRUE) ON CONFLICT (identifier) DO NOTHING";
pub const DISCOVER_TASK: &str = "INSERT INTO tasks (identifier, name, discovered)
    VALUES ($1, $1, TRUE) ON CONFLICT (identifier) DO NOTHING";
pub const DISCOVER_USER: &str =
    "INSERT INTO users (username, display_name, role, discovered, created_at)
    VALUES ($1, $1, 'member', TRUE, $2) ON CONFLICT (username) DO NOTHING";
pub const DISCOVER_SOURCE: &str =
    "INSERT INTO sources (label) VALUES ($1) ON CONFLICT (label) DO NOTHING";

#[cfg(test)]
mod tests {
    /// SQLite's plan of a statement, one detail per line.
    fn sqlite_plan(statement: &str) -> String {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for m in crate::store::migrations::SQLITE {
            conn.execute_batch(m.sql).unwrap();
        }
        let mut plan = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {statement}"))
            .unwrap();
        let unbound = vec![rusqlite::types::Null; plan.parameter_count()];
        let details = plan
            .query_map(rusqlite::params_from_iter(unbound), |r| {
                r.get::<_, String>(3)
            })
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        details.join("\n")
    }

    /// A budget check reads one item's row per day, never the whole window.
    #[test]
    fn one_item_is_read_by_primary_key_lookups() {
        let plan = sqlite_plan(super::ROLLUP_ITEM);
        assert!(
            plan.contains("SEARCH r USING PRIMARY KEY (dim=? AND day=? AND item=?)"),
            "{plan}"
        );
    }

    /// SQLite numbers `$N` parameters by first appearance, so each statement
    /// must introduce `$1, $2, …` in order for both backends to bind alike.
    #[test]
    fn placeholders_appear_in_order() {
        let source = include_str!("sql.rs");
        let code = &source[..source.find("#[cfg(test)]").unwrap()];
        for statement in code.split("pub const ").skip(1) {
            let mut next = 1;
            let bytes = statement.as_bytes();
            for (i, _) in statement.match_indices('$') {
                let digits: String = bytes[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .map(|b| *b as char)
                    .collect();
                let Ok(n) = digits.parse::<usize>() else {
                    continue;
                };
                assert!(n <= next, "{statement}: ${n} before ${next}");
                if n == next {
                    next += 1;
                }
            }
        }
    }
}
