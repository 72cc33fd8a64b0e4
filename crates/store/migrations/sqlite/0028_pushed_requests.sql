-- Pushed authorization requests (RFC 9126), kept a minute under a one-time request_uri
-- (stored as a digest); and the per-app rule that authorization requests must be pushed.
CREATE TABLE pushed_requests (
    tenant_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    client_id TEXT NOT NULL,
    params TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (tenant_id, digest),
    FOREIGN KEY (tenant_id, client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE
);
CREATE INDEX pushed_requests_client ON pushed_requests (tenant_id, client_id);
CREATE INDEX pushed_requests_expiry ON pushed_requests (expires_at);
ALTER TABLE applications ADD COLUMN require_par BOOLEAN NOT NULL DEFAULT FALSE;
