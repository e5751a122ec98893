-- Each webhook delivery is recognised when it comes again byte for byte (a replay, or the same
-- attempt delivered twice): its hash covers the body's hash and the signature, which covers the
-- date, so the platform's own later attempts (signed anew) are not mistaken for it. Rows from
-- earlier versions have none, and NULLs never collide (PostgreSQL's default, NULLS DISTINCT, as in
-- SQLite). The PostgreSQL twin of migrations/sqlite/0010_deliveries.sql.
ALTER TABLE webhook_inbox ADD COLUMN delivery_hash TEXT;
CREATE UNIQUE INDEX webhook_inbox_by_delivery ON webhook_inbox (delivery_hash);
