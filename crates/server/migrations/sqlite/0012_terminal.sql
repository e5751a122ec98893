-- The terminal API: PoS systems ("integrators") that start payments at tills, and the callbacks
-- that tell them how those payments went.

-- An integrator's API key is kept only as its SHA-256; its callback secret is kept as given,
-- because every callback is signed with it. `revoked_at` ends the key at once.
CREATE TABLE integrators (
    id              TEXT    PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    key_hash        TEXT    NOT NULL UNIQUE,
    callback_url    TEXT,
    callback_secret TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    last_used_at    BIGINT,
    revoked_at      BIGINT
);

-- The stores an integrator's key may act in; anything else is refused.
CREATE TABLE integrator_stores (
    integrator_id TEXT NOT NULL REFERENCES integrators (id),
    store_id      TEXT NOT NULL,
    PRIMARY KEY (integrator_id, store_id)
);

-- Each write request an integrator made, by its Idempotency-Key: the same key with another
-- request is refused, the same key with the same request finds what the first one did.
CREATE TABLE terminal_requests (
    integrator_id   TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    request_hash    TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    PRIMARY KEY (integrator_id, idempotency_key)
);

-- A payment a PoS started names its integrator and the PoS's own order id. Written with the
-- payment itself, so a payment can never be a PoS's without the PoS hearing of it.
ALTER TABLE payments ADD COLUMN integrator_id TEXT;
ALTER TABLE payments ADD COLUMN order_id TEXT;
CREATE INDEX payments_for_integrators ON payments (updated_at) WHERE integrator_id IS NOT NULL;

-- How far each PoS payment's callbacks have got: the payment's `updated_at` last delivered,
-- and, while a delivery fails, how often and when it is tried next (also a lease, so that one
-- instance at a time delivers it).
CREATE TABLE terminal_callbacks (
    reference       TEXT    PRIMARY KEY,
    delivered_upto  BIGINT  NOT NULL DEFAULT 0,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error      TEXT
);
