-- Nothing changes on PostgreSQL: SQLite keeps its keys' ages in its
-- idempotency_log instead of an index (src/store/sqlite/usage.rs);
-- PostgreSQL keeps the one indexed table.
SELECT 1;
