-- Callback stickers the QR tools put up: MobilePay PoS beacons migrated with `qr migrate`, and
-- new merchant callback QRs made with `qr callback create`. Each row says which till a check-in
-- at that sticker reaches; the configuration's `callback_qr` of a till says the same for the ids
-- it names, and a check-in where the two disagree reaches no till (the conflict is logged).
-- The PostgreSQL twin of migrations/sqlite/0005_callback_qrs.sql.
--
-- `merchant_qr_id` is kept as the platform sends it back in `user.checked-in.v1`: a GUID beacon id
-- in lower case. `till_id` is NULL for a sticker that is up but reaches no till yet.
CREATE TABLE callback_qrs (
    msn                  TEXT   NOT NULL,
    merchant_qr_id       TEXT   NOT NULL,
    kind                 TEXT   NOT NULL CHECK (kind IN ('beacon', 'callback')),
    till_id              TEXT,
    location_description TEXT   NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    PRIMARY KEY (msn, merchant_qr_id)
);
CREATE INDEX callback_qrs_by_till ON callback_qrs (till_id);
