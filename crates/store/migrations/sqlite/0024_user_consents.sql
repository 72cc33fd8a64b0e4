-- Delegated scopes a user consented to for one client app (on the consent page), remembered
-- until revoked; what an administrator granted for everyone stays in permission_grants.
CREATE TABLE user_consents (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    api_client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, client_id, api_client_id, scope),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, api_client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE
);
-- Deleting an app cascades here: find its rows without a scan.
CREATE INDEX user_consents_client ON user_consents (tenant_id, client_id);
CREATE INDEX user_consents_api ON user_consents (tenant_id, api_client_id);
