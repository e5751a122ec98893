-- Sales the cashier cancelled before the platform had their payment. A 404 on that cancel proves
-- nothing about a create still on its way (a request can reach the platform after its sender
-- died), so the sale is withdrawn: it stays cancelled and frees its till, while kasse watches the
-- reference until `watch_until` and cancels whatever of it turns up at the platform.
-- The PostgreSQL twin of migrations/sqlite/0006_withdrawn.sql.
ALTER TABLE payments ADD COLUMN withdrawn_at BIGINT;
ALTER TABLE payments ADD COLUMN watch_until BIGINT;

-- Why kasse sent a write that no cashier asked for (cancelling a withdrawn sale that reached the
-- platform late, say). NULL for the writes a cashier or a till's capture policy asked for.
ALTER TABLE operations ADD COLUMN reason TEXT;

-- Sales that earlier versions ended this way, on a 404, are looked at once more: a create of
-- theirs that reached the platform late may have left a reservation, which is then released.
UPDATE payments
   SET withdrawn_at = updated_at, watch_until = updated_at + 660000, next_poll_at = updated_at
 WHERE status = 'cancelled' AND platform_state IS NULL AND reference IN (
       SELECT reference FROM operations
        WHERE kind = 'create' AND error = 'cancelled before it reached the platform');
