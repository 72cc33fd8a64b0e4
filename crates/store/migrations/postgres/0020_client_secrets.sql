-- Client secrets, several per application (rotation), each with an expiry; stored as
-- digests, with a three-character hint to tell them apart. The one secret an application had
-- moves here (no expiry, as it had none).
CREATE TABLE client_secrets (
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    id TEXT NOT NULL,
    secret_digest TEXT NOT NULL,
    hint TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    PRIMARY KEY (tenant_id, client_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE
);
INSERT INTO client_secrets (tenant_id, client_id, id, secret_digest, hint, created_at, expires_at)
SELECT tenant_id, client_id, 'initial', secret_digest, '', created_at, NULL
FROM applications WHERE secret_digest IS NOT NULL;
ALTER TABLE applications DROP COLUMN secret_digest;
