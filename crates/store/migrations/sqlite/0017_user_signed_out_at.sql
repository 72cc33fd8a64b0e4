-- When a user was last signed out everywhere (a new password, a disabled account): sign-ins
-- that began before cannot finish.
ALTER TABLE users ADD COLUMN signed_out_at BIGINT;
