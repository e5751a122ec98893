-- Sessions that end: a session not used for a while, or too old, no longer opens its till. The
-- server reads when it was paired and when it was last used (written at most about once a
-- minute, to spare writes); the operator lists and revokes devices (`kasse-server till list`,
-- `kasse-server till revoke`). The PostgreSQL twin of migrations/sqlite/0008_sessions.sql
-- (BYTEA where SQLite has BLOB).
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = created_at;

-- `till revoke --all TILL`, and `till list` in till order.
CREATE INDEX sessions_by_till ON sessions (till_id, created_at);
-- A running server looks for sessions revoked a moment ago (perhaps by `kasse-server till
-- revoke`, another process) to end their open event streams.
CREATE INDEX sessions_by_revocation ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Keys the server makes once at random and keeps: `pairing` is the key pairing codes are hashed
-- under (HMAC-SHA256), so the stored hash of a code alone, without the key, cannot be tested
-- against guesses. It lives here, not in a file: `kasse-server till pair` (another process) and
-- every server on the database need the same key, and the database is already where the server
-- keeps its secrets (webhook secrets) and what is guarded as one.
CREATE TABLE server_keys (
    name       TEXT   PRIMARY KEY,
    secret     BYTEA  NOT NULL,
    created_at BIGINT NOT NULL
);
