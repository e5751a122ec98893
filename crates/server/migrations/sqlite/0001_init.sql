-- kasse's store. Written for SQLite; PostgreSQL gets its own folder with the same tables
-- (BIGINT identity instead of AUTOINCREMENT, BOOLEAN as is). Times are Unix milliseconds.

-- One row per payment attempt (a sale). `active` marks the one sale a till may have in progress;
-- the partial unique index makes a second one impossible even under concurrent requests.
CREATE TABLE payments (
    reference      TEXT    PRIMARY KEY,
    till_id        TEXT    NOT NULL,
    msn            TEXT    NOT NULL,
    flow           TEXT    NOT NULL,
    currency       TEXT    NOT NULL,
    amount         BIGINT  NOT NULL CHECK (amount > 0),
    status         TEXT    NOT NULL,
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    platform_state TEXT,
    qr             TEXT,
    expires_at     BIGINT,
    authorized     BIGINT  NOT NULL DEFAULT 0,
    captured       BIGINT  NOT NULL DEFAULT 0,
    cancelled      BIGINT  NOT NULL DEFAULT 0,
    refunded       BIGINT  NOT NULL DEFAULT 0,
    failure        TEXT,
    next_poll_at   BIGINT,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);
CREATE UNIQUE INDEX payments_one_active_per_till ON payments (till_id) WHERE active;
CREATE INDEX payments_by_till ON payments (till_id, created_at);
CREATE INDEX payments_to_poll ON payments (next_poll_at) WHERE next_poll_at IS NOT NULL;

-- Every platform write, recorded with its idempotency key before it is sent. A row still
-- `pending` after a crash is sent again, with the same key, by the reconciler.
CREATE TABLE operations (
    idempotency_key TEXT    PRIMARY KEY,
    reference       TEXT    NOT NULL REFERENCES payments (reference),
    kind            TEXT    NOT NULL CHECK (kind IN ('create', 'capture', 'cancel', 'refund')),
    amount          BIGINT,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX operations_pending ON operations (updated_at) WHERE status = 'pending';

-- Webhook deliveries exactly as received (after their signature was verified), processed after
-- the 2xx answer.
CREATE TABLE webhook_inbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at  BIGINT  NOT NULL,
    event_type   TEXT,
    body         TEXT    NOT NULL,
    processed_at BIGINT
);
CREATE INDEX webhook_inbox_unprocessed ON webhook_inbox (id) WHERE processed_at IS NULL;

-- Platform payment events, once each however often they are delivered.
CREATE TABLE payment_events (
    reference     TEXT    NOT NULL,
    psp_reference TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    amount        BIGINT  NOT NULL,
    currency      TEXT    NOT NULL,
    occurred_at   TEXT    NOT NULL,
    success       BOOLEAN NOT NULL,
    PRIMARY KEY (reference, psp_reference)
);

-- The live events pushed to tills; a reconnecting browser replays from its Last-Event-ID.
CREATE TABLE till_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    till_id    TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX till_events_by_till ON till_events (till_id, id);

-- Our webhook registration per sales unit, with the secret its deliveries are signed with.
CREATE TABLE webhook_registrations (
    msn        TEXT   PRIMARY KEY,
    webhook_id TEXT   NOT NULL,
    url        TEXT   NOT NULL,
    events     TEXT   NOT NULL,
    secret     TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
