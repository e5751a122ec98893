-- The sticker landing page: payments started by customers on their own phones. The PostgreSQL
-- twin of migrations/sqlite/0004_landing.sql.

-- The sticker a payment was started from, and the token its customer's browser follows it by.
ALTER TABLE payments ADD COLUMN sticker_id TEXT;
ALTER TABLE payments ADD COLUMN landing_token TEXT;
CREATE UNIQUE INDEX payments_by_landing_token ON payments (landing_token) WHERE landing_token IS NOT NULL;

-- An open-amount sticker's payments belong to no till (till_id ''), and many customers may pay
-- at once: only real tills are limited to one payment in progress.
DROP INDEX payments_one_active_per_till;
CREATE UNIQUE INDEX payments_one_active_per_till ON payments (till_id) WHERE active AND till_id <> '';

-- What a till presents to its sticker: the amount the next customer who scans it pays.
CREATE TABLE presented (
    till_id      TEXT   PRIMARY KEY,
    amount       BIGINT NOT NULL CHECK (amount > 0),
    currency     TEXT   NOT NULL,
    description  TEXT,
    presented_at BIGINT NOT NULL
);
