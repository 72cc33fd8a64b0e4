-- private_key_jwt (RFC 7523): the public keys a confidential client signs assertions with
-- (a JSON array of JWKs), and the ids of assertions already used, kept until they expire so
-- that a replayed assertion is refused.
ALTER TABLE applications ADD COLUMN client_keys TEXT NOT NULL DEFAULT '[]';

CREATE TABLE client_assertions (
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, client_id, jti),
    FOREIGN KEY (tenant_id, client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE
);
CREATE INDEX client_assertions_expiry ON client_assertions (expires_at);
