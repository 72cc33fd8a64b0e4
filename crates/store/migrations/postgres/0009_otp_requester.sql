-- Who asked for a code (a digest of the client's network), so the hourly quota per address is
-- also kept per requester: someone spamming a victim's address spends their own quota, not
-- the victim's.
ALTER TABLE otp_challenges ADD COLUMN requester TEXT NOT NULL DEFAULT '';
