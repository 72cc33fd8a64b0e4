-- SMS pumping limits: texts per tenant per hour (from the outbox), and the numbers each user
-- asked to register lately.
CREATE INDEX outbox_by_channel ON outbox (tenant_id, channel, created_at);
CREATE TABLE phone_verifications (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    number TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX phone_verifications_by_user ON phone_verifications (tenant_id, user_id, created_at);
