-- Failed passwords for addresses without an account are counted like an account's, so the
-- hosted pages lock an unknown address out after the same failures as a real one (they must
-- not tell which addresses have accounts). Keyed by a keyed digest of the address, never the
-- address; idle records go after a day.
CREATE TABLE decoy_lockouts (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    failures BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    lockouts BIGINT NOT NULL,
    recent_fingerprints TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject)
);
CREATE INDEX decoy_lockouts_by_age ON decoy_lockouts (updated_at);
ALTER TABLE password_lockouts ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
