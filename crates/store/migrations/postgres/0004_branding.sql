-- Per-tenant branding of the hosted pages.
CREATE TABLE tenant_branding (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    config TEXT NOT NULL,
    logo BYTEA,
    updated_at BIGINT NOT NULL
);
