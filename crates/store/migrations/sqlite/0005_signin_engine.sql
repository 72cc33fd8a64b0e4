-- The sign-in engine: flows in progress, second factors, recovery codes, password history,
-- and sign-up attributes on users.
ALTER TABLE users ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';

CREATE TABLE signin_flows (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    client_id TEXT,
    state TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX signin_flows_by_expiry ON signin_flows (expires_at);

CREATE TABLE auth_methods (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT,
    sealed_secret BLOB,
    last_used_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX auth_methods_by_user ON auth_methods (tenant_id, user_id);

CREATE TABLE recovery_codes (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    code_digest TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (tenant_id, user_id, code_digest),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE password_history (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX password_history_by_user ON password_history (tenant_id, user_id, created_at);
