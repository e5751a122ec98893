-- A payment's writes are read by its reference at every step of a sale (the webhook intake, the
-- reconciler, the sale's page). Without this index each read scanned every write ever recorded.
CREATE INDEX operations_by_reference ON operations (reference);
