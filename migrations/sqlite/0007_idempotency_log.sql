-- New idempotency keys, appended in arrival order in the transaction that
-- counts their records, and moved to idempotency_keys (in key order) by the
-- writer once a few thousand have gathered. A key is known when it is in
-- either table. See src/store/sqlite/usage.rs.
CREATE TABLE idempotency_log (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
