-- The ledger's schema on SQLite. Days are integers (days since 1970-01-01 in
-- the ledger's time zone), money is integer picodollars, prices are integer
-- 1/10,000 cents per 1M tokens, timestamps are Unix seconds. An id of 0 in
-- usage_daily means "none" (no model, no user = the system, no source).

CREATE TABLE settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    timezone TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE providers (
    id INTEGER PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    adapter_type TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    discovered INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    provider_id INTEGER NOT NULL REFERENCES providers (id),
    model_id TEXT NOT NULL,
    -- NULL prices: a discovered model nobody has priced yet.
    input_price INTEGER,
    output_price INTEGER,
    cache_read_price INTEGER,
    cache_write_price INTEGER,
    active INTEGER NOT NULL DEFAULT 1,
    discovered INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX models_by_vendor_id ON models (model_id, provider_id);

CREATE TABLE configurations (
    id INTEGER PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    model_id INTEGER REFERENCES models (id),
    max_requests_per_day INTEGER NOT NULL DEFAULT 0,
    max_tokens_per_day INTEGER NOT NULL DEFAULT 0,
    max_cost_per_day INTEGER NOT NULL DEFAULT 0,
    discovered INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    configuration_id INTEGER REFERENCES configurations (id),
    discovered INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    discovered INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE budgets (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    max_requests_per_day INTEGER NOT NULL DEFAULT 0,
    max_tokens_per_day INTEGER NOT NULL DEFAULT 0,
    max_cost_per_day INTEGER NOT NULL DEFAULT 0,
    max_requests_per_month INTEGER NOT NULL DEFAULT 0,
    max_tokens_per_month INTEGER NOT NULL DEFAULT 0,
    max_cost_per_month INTEGER NOT NULL DEFAULT 0,
    enforced INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('ingest', 'read', 'admin')),
    -- SHA-256 of the secret; the secret itself is shown once and never stored.
    secret_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);

CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    label TEXT NOT NULL UNIQUE
);

CREATE TABLE usage_daily (
    day INTEGER NOT NULL,
    service INTEGER NOT NULL,
    provider_id INTEGER NOT NULL,
    model_id INTEGER NOT NULL,
    configuration_id INTEGER NOT NULL,
    task_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    source_id INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    characters INTEGER NOT NULL,
    audio_seconds INTEGER NOT NULL,
    images INTEGER NOT NULL,
    cost INTEGER NOT NULL,
    PRIMARY KEY (day, service, provider_id, model_id, configuration_id, task_id, user_id, source_id)
) WITHOUT ROWID;

CREATE TABLE idempotency_keys (
    key TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
