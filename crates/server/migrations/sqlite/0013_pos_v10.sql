-- MobilePay PoS v10 compatibility: what v10 integrations made through kasse's facade.

-- Access tokens issued at /integrator-authentication/connect/token, kept only as hashes. A token
-- may be bound to one merchant (VAT number), as v10's were.
CREATE TABLE v10_tokens (
    token_hash    TEXT    PRIMARY KEY,
    integrator_id TEXT    NOT NULL,
    merchant_vat  TEXT,
    expires_at    BIGINT  NOT NULL
);

-- Points of sale a v10 integration created, each standing for one kasse till. Deleting one keeps
-- its row (its payments name it), marked deleted.
CREATE TABLE v10_points_of_sale (
    pos_id          TEXT    PRIMARY KEY,
    integrator_id   TEXT    NOT NULL,
    till_id         TEXT    NOT NULL,
    store_id        TEXT    NOT NULL,
    merchant_pos_id TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    beacon_id       TEXT    NOT NULL,
    beacon_types    TEXT    NOT NULL,
    callback_alias  TEXT,
    require_payment_before_checkin BOOLEAN NOT NULL,
    created_at      BIGINT  NOT NULL,
    deleted_at      BIGINT
);
CREATE UNIQUE INDEX v10_pos_merchant_ids ON v10_points_of_sale (integrator_id, merchant_pos_id) WHERE deleted_at IS NULL;

-- A v10 payment: the PoS's paymentId, and the till's sale that takes it (none while it is only
-- prepared). A payment issued as a QR code moves to a push to the customer who checks in at the
-- till meanwhile: `pairing_check_in` records that move before the QR sale is cancelled, so a
-- crash in between finishes it.
CREATE TABLE v10_payments (
    payment_id        TEXT    PRIMARY KEY,
    integrator_id     TEXT    NOT NULL,
    pos_id            TEXT    NOT NULL,
    order_id          TEXT    NOT NULL,
    currency          TEXT,
    amount            BIGINT,
    capture_delay     TEXT,
    label             TEXT,
    reference         TEXT,
    pairing_check_in  TEXT,
    cancelled_at      BIGINT,
    created_at        BIGINT  NOT NULL
);
CREATE INDEX v10_payments_by_pos ON v10_payments (pos_id, created_at);

-- A v10 refund: one refund write of the payment's sale, named by its idempotency key.
CREATE TABLE v10_refunds (
    refund_id       TEXT    PRIMARY KEY,
    payment_id      TEXT    NOT NULL,
    refund_order_id TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    amount          BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL
);
