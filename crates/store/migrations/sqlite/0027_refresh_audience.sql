-- The app a refresh token's access tokens are for, decided at the first redemption: a later
-- refresh whose scope names another app (an identifier URI moved) is refused.
ALTER TABLE refresh_tokens ADD COLUMN audience TEXT;
