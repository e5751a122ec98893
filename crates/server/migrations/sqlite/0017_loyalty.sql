-- Loyalty by consent: for a sale whose till asked the customer to share their phone number (and
-- who agreed, or they could not have paid), whether they are a member of the store's programme.
-- `loyalty` is 'member' or 'not-member'; `member_name` is the member list's name for a member.
-- Neither the number nor the platform's `sub` is kept. The retention job, and `kasse-server
-- loyalty forget`, clear `member_name`; the partial index keeps the former from reading every
-- payment to find the few named.
ALTER TABLE payments ADD COLUMN loyalty TEXT CHECK (loyalty IN ('member', 'not-member'));
ALTER TABLE payments ADD COLUMN member_name TEXT;
CREATE INDEX payments_named_members ON payments (created_at) WHERE member_name IS NOT NULL;
