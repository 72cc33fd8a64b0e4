-- Outbox bodies hold one-time codes: they are sealed, and deleted once delivered, given up, or
-- useless (after discard_after, when the code has expired; such messages are not sent late).
ALTER TABLE outbox ADD COLUMN discard_after BIGINT;
