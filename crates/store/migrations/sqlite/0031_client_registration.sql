-- Dynamic client registration (RFC 7591/7592): initial access tokens an operator hands out
-- (each good for a number of registrations until it expires), and the registration access
-- token each registered client manages its registration with (digests only).
CREATE TABLE initial_access_tokens (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    max_uses BIGINT NOT NULL,
    uses BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE client_registrations (
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    token_digest TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, client_id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE
);
