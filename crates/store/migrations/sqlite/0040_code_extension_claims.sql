-- Claims token-issuance extensions provided when a person finished signing in (JSON), kept
-- with the code or device approval until its tokens are issued.
ALTER TABLE authorization_codes ADD COLUMN extension_claims TEXT;
ALTER TABLE device_codes ADD COLUMN extension_claims TEXT;
