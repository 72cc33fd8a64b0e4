-- How a user authenticated (RFC 8176 `amr` values, space-separated) travels from the session
-- through codes and refresh tokens into tokens; apps choose optional claims (user attributes)
-- for their tokens.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE authorization_codes ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN optional_claims TEXT NOT NULL DEFAULT '[]';
