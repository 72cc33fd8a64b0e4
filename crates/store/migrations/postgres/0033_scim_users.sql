-- SCIM 2.0 users: the provisioning client's external id (looked up by filters, so indexed),
-- the SCIM attributes that have no column of their own (a JSON document), and a version
-- every change bumps (the ETag). The audit log records every provisioning change.
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN scim TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN updated_at BIGINT;
CREATE INDEX users_by_external_id ON users (tenant_id, external_id);

CREATE TABLE audit_log (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_by_time ON audit_log (tenant_id, at);
