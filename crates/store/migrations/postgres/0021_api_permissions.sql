-- What an application exposes as an API (delegated scopes and app roles, as JSON), its
-- "assignment required" switch and token lifetimes of its own; then who may use which API:
-- permissions granted to client apps by an administrator, and app roles assigned to users.
ALTER TABLE applications ADD COLUMN api TEXT NOT NULL DEFAULT '{}';
ALTER TABLE applications ADD COLUMN assignment_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE applications ADD COLUMN access_token_lifetime BIGINT;
ALTER TABLE applications ADD COLUMN refresh_token_lifetime BIGINT;

CREATE TABLE permission_grants (
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    api_client_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, client_id, api_client_id, kind, name),
    FOREIGN KEY (tenant_id, client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, api_client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE
);
CREATE INDEX permission_grants_api ON permission_grants (tenant_id, api_client_id);

CREATE TABLE role_assignments (
    tenant_id TEXT NOT NULL,
    api_client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, api_client_id, user_id, role),
    FOREIGN KEY (tenant_id, api_client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX role_assignments_user ON role_assignments (tenant_id, user_id);
