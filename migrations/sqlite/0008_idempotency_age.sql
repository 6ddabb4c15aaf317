-- Keys stay in idempotency_log, in arrival order, until they expire, so that
-- pruning reads the log from its start: the index on age it replaces cost a
-- second B-tree insert for every key. idempotency_keys now serves lookups
-- only; idempotency_folded is the last log entry already moved into it.
-- See src/store/sqlite/usage.rs.
CREATE TABLE idempotency_folded (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO idempotency_keys (key, created_at)
    SELECT key, created_at FROM idempotency_log WHERE true ORDER BY key
    ON CONFLICT (key) DO NOTHING;
DELETE FROM idempotency_log;
INSERT INTO idempotency_log (key, created_at)
    SELECT key, created_at FROM idempotency_keys ORDER BY created_at;
INSERT INTO idempotency_folded (id, seq)
    SELECT 1, coalesce(max(seq), 0) FROM idempotency_log;
DROP INDEX idempotency_keys_by_age;
