-- SCIM 2.0 provisioning: the bearer tokens a tenant's provisioning clients present (digests
-- only), each revocable and with an optional expiry.
CREATE TABLE scim_tokens (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    PRIMARY KEY (tenant_id, id)
);
