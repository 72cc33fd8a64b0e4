-- Device authorizations (RFC 8628). The device polls with its device code (kept as a digest);
-- the person types the user code (unique in the tenant while the row lives). Approval records
-- the grant, made in the same transaction under the lock of the person's session.
CREATE TABLE device_codes (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    device_code_digest TEXT NOT NULL,
    user_code TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    interval_secs BIGINT NOT NULL,
    last_poll_at BIGINT,
    state TEXT NOT NULL,
    grant_id TEXT,
    user_id TEXT,
    session_id TEXT,
    auth_time BIGINT,
    amr TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX device_codes_digest ON device_codes (tenant_id, device_code_digest);
CREATE UNIQUE INDEX device_codes_user_code ON device_codes (tenant_id, user_code);
CREATE INDEX device_codes_client ON device_codes (tenant_id, client_id);
CREATE INDEX device_codes_expiry ON device_codes (expires_at);
