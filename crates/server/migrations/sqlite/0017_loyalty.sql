-- Loyalty by consent: at a store with loyalty, what the customer of an approved payment let the
-- store know. `loyalty` is 'member', 'not-member' (shared their phone number, not on the member
-- list) or 'not-shared' (chose not to share it); `member_name` is the member list's name for a
-- member. Neither the phone number nor the platform's `sub` is kept. The retention job clears
-- `member_name` with the rest of what it ages out.
ALTER TABLE payments ADD COLUMN loyalty TEXT CHECK (loyalty IN ('member', 'not-member', 'not-shared'));
ALTER TABLE payments ADD COLUMN member_name TEXT;
