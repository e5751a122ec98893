-- Managers: the people who run a shop's back office (`/admin`). The PostgreSQL twin of
-- migrations/sqlite/0016_managers.sql, which says more.
CREATE TABLE managers (
    id               TEXT    PRIMARY KEY,
    name             TEXT    NOT NULL,
    store_id         TEXT,
    pin_hash         TEXT,
    pin_failures     INTEGER NOT NULL DEFAULT 0,
    pin_locked_until BIGINT,
    created_at       BIGINT  NOT NULL,
    revoked_at       BIGINT
);
CREATE UNIQUE INDEX managers_by_name ON managers (name) WHERE revoked_at IS NULL;

-- A pairing code or a session may now be a manager's; `till_id` then holds the manager's id.
ALTER TABLE pairing_codes DROP CONSTRAINT pairing_codes_role_check;
ALTER TABLE pairing_codes ADD CONSTRAINT pairing_codes_role_check CHECK (role IN ('till', 'display', 'manager'));
ALTER TABLE sessions DROP CONSTRAINT sessions_role_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_role_check CHECK (role IN ('till', 'display', 'manager'));
