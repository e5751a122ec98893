-- Every in-store flow, manual capture, refunds, and browsers that retry. The PostgreSQL twin of
-- migrations/sqlite/0002_flows.sql.

-- What the customer sees the payment is for, and who was asked (masked, for the cashier).
ALTER TABLE payments ADD COLUMN description TEXT;
ALTER TABLE payments ADD COLUMN customer_label TEXT;
-- The browser's idempotency key for "start this sale": a retried request finds its sale.
ALTER TABLE payments ADD COLUMN client_key TEXT;
CREATE UNIQUE INDEX payments_by_client_key ON payments (till_id, client_key) WHERE client_key IS NOT NULL;

-- The exact request body of each platform write, so a resend after a crash is byte for byte
-- the request first recorded (the platform refuses a key reused with another body).
ALTER TABLE operations ADD COLUMN request TEXT;
-- The browser's idempotency key for the action that caused the write.
ALTER TABLE operations ADD COLUMN client_key TEXT;
CREATE UNIQUE INDEX operations_by_client_key ON operations (reference, client_key) WHERE client_key IS NOT NULL;

-- Customers who scanned a callback sticker (user.checked-in.v1). The platform's customerToken
-- stays here; browsers only ever see the check-in's id.
CREATE TABLE check_ins (
    id             TEXT   PRIMARY KEY,
    msn            TEXT   NOT NULL,
    merchant_qr_id TEXT   NOT NULL,
    till_id        TEXT,
    customer_token TEXT   NOT NULL,
    initiated_at   BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    charged_by     TEXT,
    received_at    BIGINT NOT NULL
);
CREATE INDEX check_ins_by_till ON check_ins (till_id, initiated_at);
