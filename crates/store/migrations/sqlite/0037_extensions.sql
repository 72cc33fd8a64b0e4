-- Custom authentication extensions: a company's service called at one step of sign-in or of
-- token issuance; the apps each is attached to (none listed: every app of the tenant); the
-- log of calls (outcome and latency, kept 30 days); and each app's renaming of the claims
-- extensions provide (Entra's claims-mapping policy), kept with the app.
CREATE TABLE extensions (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    event TEXT NOT NULL,
    target_url TEXT NOT NULL,
    resource_app_id TEXT NOT NULL,
    timeout_ms BIGINT NOT NULL,
    retries BIGINT NOT NULL,
    claims TEXT NOT NULL,
    fallback BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE extension_apps (
    tenant_id TEXT NOT NULL,
    extension_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, extension_id, client_id),
    FOREIGN KEY (tenant_id, extension_id) REFERENCES extensions (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE
);

CREATE TABLE extension_calls (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    extension_id TEXT NOT NULL,
    event TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    client_id TEXT,
    at BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    error_code BIGINT,
    detail TEXT,
    latency_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL
);
CREATE INDEX extension_calls_by_time ON extension_calls (tenant_id, at);

ALTER TABLE applications ADD COLUMN claim_mappings TEXT NOT NULL DEFAULT '[]';
