-- Nothing changes on PostgreSQL. SQLite gains an idempotency_log table that
-- its single writer folds into idempotency_keys; PostgreSQL takes concurrent
-- key inserts from several commit workers and processes, which check the one
-- indexed table (src/store/postgres/usage.rs).
SELECT 1;
