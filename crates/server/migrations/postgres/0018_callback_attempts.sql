-- A PoS payment's failed callback deliveries count for one change: `attempts_for` is the payment's
-- version (its `updated_at`) they were made for, so a change made while an earlier one was being
-- retried gets all its own attempts rather than what the earlier one left.
ALTER TABLE terminal_callbacks ADD COLUMN attempts_for BIGINT;
