-- One-time passcodes and the durable outbox.
CREATE TABLE otp_challenges (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    subject TEXT NOT NULL,
    code_digest TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX otp_challenges_by_subject ON otp_challenges (tenant_id, purpose, subject, created_at);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    tenant_id TEXT,
    channel TEXT NOT NULL CHECK (channel IN ('mail', 'sms')),
    recipient TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at BIGINT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
