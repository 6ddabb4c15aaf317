-- Each idempotency key keeps the fingerprint of its record
-- (UsageRecord::fingerprint), so that a key reused for a different record is
-- refused instead of being taken for a retry. Keys stored before have none
-- and match any record.
ALTER TABLE idempotency_log ADD COLUMN fingerprint INTEGER;
ALTER TABLE idempotency_keys ADD COLUMN fingerprint INTEGER;
