-- Wrong authenticator-app and recovery codes, per user, shared by every node: a flow ends
-- after a few, and after many in a day the user's factor locks for a while.
CREATE TABLE second_factor_failures (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);
CREATE INDEX second_factor_failures_by_user ON second_factor_failures (tenant_id, user_id, failed_at);
