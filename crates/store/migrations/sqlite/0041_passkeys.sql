-- Passkeys (WebAuthn credentials). The credential id is unique within a tenant (the relying
-- party): one authenticator key never belongs to two accounts. `user_handle` is random per
-- user (never the object id or the email), shared by the user's passkeys.
CREATE TABLE passkeys (
    tenant_id TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_handle TEXT NOT NULL,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    aaguid TEXT,
    backup_eligible BOOLEAN NOT NULL,
    backup_state BOOLEAN NOT NULL,
    sign_count BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    PRIMARY KEY (tenant_id, credential_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX passkeys_by_user ON passkeys (tenant_id, user_id);
CREATE INDEX passkeys_by_handle ON passkeys (tenant_id, user_handle);

-- WebAuthn ceremonies in progress: single use (taken by a delete), short-lived, and bound to
-- what started them (a sign-in flow, or a session on the security page).
CREATE TABLE webauthn_challenges (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    binding TEXT NOT NULL,
    user_id TEXT,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX webauthn_challenges_by_expiry ON webauthn_challenges (expires_at);
