-- Admin tokens get an id (to list and revoke them by), a name, an expiry and a revocation
-- time. Tokens made before keep working; their id is taken from their digest.
ALTER TABLE admin_tokens ADD COLUMN id TEXT;
ALTER TABLE admin_tokens ADD COLUMN name TEXT;
ALTER TABLE admin_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE admin_tokens ADD COLUMN revoked_at BIGINT;
UPDATE admin_tokens SET id = substr(digest, 1, 12);
CREATE UNIQUE INDEX admin_tokens_by_id ON admin_tokens (id);
