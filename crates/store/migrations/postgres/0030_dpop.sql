-- DPoP (RFC 9449): the proofs each key has used (a proof is good once), refresh tokens
-- bound to the key of the public client they were issued to, codes bound to a key (§10), and the per-app rule that
-- every token request carries a proof (RFC 9449 §5.2, `dpop_bound_access_tokens`).
CREATE TABLE dpop_proofs (
    tenant_id TEXT NOT NULL,
    jkt TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, jkt, jti)
);
CREATE INDEX dpop_proofs_expiry ON dpop_proofs (expires_at);
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt TEXT;
ALTER TABLE authorization_codes ADD COLUMN dpop_jkt TEXT;
ALTER TABLE applications ADD COLUMN require_dpop BOOLEAN NOT NULL DEFAULT FALSE;
