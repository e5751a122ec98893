-- Managers: the people who run a shop's back office (`/admin`). A manager is paired like a till
-- (a one-time code typed at `/pair`) and then holds a session of their own, for one store or,
-- with no store, for every store. Actions that move money or change access ask for the
-- manager's PIN again: it is kept only as a salted PBKDF2 hash, and wrong PINs are counted here
-- so the limit holds whichever instance a request reaches.
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
-- SQLite cannot change a CHECK, so both tables are made again with the wider one.
CREATE TABLE pairing_codes_new (
    code_hash  TEXT   PRIMARY KEY,
    till_id    TEXT   NOT NULL,
    role       TEXT   NOT NULL CHECK (role IN ('till', 'display', 'manager')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
INSERT INTO pairing_codes_new (code_hash, till_id, role, created_at, expires_at, used_at)
    SELECT code_hash, till_id, role, created_at, expires_at, used_at FROM pairing_codes;
DROP TABLE pairing_codes;
ALTER TABLE pairing_codes_new RENAME TO pairing_codes;

CREATE TABLE sessions_new (
    token_hash   TEXT   PRIMARY KEY,
    till_id      TEXT   NOT NULL,
    role         TEXT   NOT NULL CHECK (role IN ('till', 'display', 'manager')),
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_seen_at BIGINT NOT NULL DEFAULT 0
);
INSERT INTO sessions_new (token_hash, till_id, role, created_at, revoked_at, last_seen_at)
    SELECT token_hash, till_id, role, created_at, revoked_at, last_seen_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_by_till ON sessions (till_id, created_at);
CREATE INDEX sessions_by_revocation ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
