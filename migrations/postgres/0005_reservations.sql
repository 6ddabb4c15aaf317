-- Strict budget reservations. A held reservation counts against the user's
-- and the configuration's ceilings until it is settled by the call's usage
-- (in the same transaction), released, or expires. Rows are kept a while
-- after that so a late settlement is recognised rather than refused.
CREATE TABLE reservations (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    configuration_id BIGINT NOT NULL,
    tokens BIGINT NOT NULL,
    cost BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('held', 'settled', 'released')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX reservations_held_by_user ON reservations (user_id, expires_at) WHERE state = 'held';
CREATE INDEX reservations_held_by_configuration ON reservations (configuration_id, expires_at) WHERE state = 'held';
CREATE INDEX reservations_by_age ON reservations (expires_at);
