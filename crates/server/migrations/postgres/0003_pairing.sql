-- Pairing: a till (or its customer display) is paired once with a one-time code and then holds a
-- session cookie. Only hashes are stored: a copy of the database opens no till. The PostgreSQL
-- twin of migrations/sqlite/0003_pairing.sql.

CREATE TABLE pairing_codes (
    code_hash  TEXT   PRIMARY KEY,
    till_id    TEXT   NOT NULL,
    role       TEXT   NOT NULL CHECK (role IN ('till', 'display')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE TABLE sessions (
    token_hash TEXT   PRIMARY KEY,
    till_id    TEXT   NOT NULL,
    role       TEXT   NOT NULL CHECK (role IN ('till', 'display')),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
