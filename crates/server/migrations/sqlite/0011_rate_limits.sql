-- Rate-limited attempts, when several instances share the database (PostgreSQL): each instance
-- counts against the same window. Keys (addresses, phone numbers) are kept as SHA-256 hashes.
-- A single instance on SQLite counts in memory; the table is here so both schemas mean the same.
CREATE TABLE rate_attempts (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    scope    TEXT    NOT NULL,
    key_hash TEXT    NOT NULL,
    at       BIGINT  NOT NULL
);
CREATE INDEX rate_attempts_by_key ON rate_attempts (scope, key_hash, at);
