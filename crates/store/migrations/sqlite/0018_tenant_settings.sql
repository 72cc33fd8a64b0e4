-- Settings an operator sets per tenant (allowed SMS countries, the refresh-token lifetime), as
-- JSON the core owns.
CREATE TABLE tenant_settings (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    settings TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
