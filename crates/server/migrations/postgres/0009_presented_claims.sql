-- A customer's payment at a till's sticker claims what the till presents instead of deleting it:
-- the claim is made in one statement that compares what the customer was shown, the till sees
-- who claimed it and can take it back, and a new amount or a withdrawal voids the claim.
-- The PostgreSQL twin of migrations/sqlite/0009_presented_claims.sql.

-- The landing token of the payment that claimed it (NULL while it waits for a customer), that
-- customer's number, masked (NULL for an app switch), and the payment's reference once it is
-- recorded: finished payments lose their landing token to the retention job, their reference never.
ALTER TABLE presented ADD COLUMN claimed_by TEXT;
ALTER TABLE presented ADD COLUMN claimed_phone TEXT;
ALTER TABLE presented ADD COLUMN claim_reference TEXT;
