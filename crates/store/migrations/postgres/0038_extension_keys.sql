-- The RSA public key a password-submit extension decrypts passwords with (its
-- SubjectPublicKeyInfo, base64), and accounts whose password is still in a legacy store,
-- migrated at their first sign-in.
ALTER TABLE extensions ADD COLUMN encryption_key TEXT;
ALTER TABLE users ADD COLUMN password_in_legacy_store BOOLEAN NOT NULL DEFAULT FALSE;
