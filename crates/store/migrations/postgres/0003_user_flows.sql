-- User flows and the applications attached to them. Every tenant gets a default flow whose id
-- is the tenant's id (password + email OTP, sign-up on, MFA off).
CREATE TABLE user_flows (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    is_default BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);
CREATE UNIQUE INDEX user_flows_one_default ON user_flows (tenant_id) WHERE is_default;

CREATE TABLE user_flow_apps (
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, client_id),
    FOREIGN KEY (tenant_id, flow_id) REFERENCES user_flows (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE
);

INSERT INTO user_flows (tenant_id, id, name, config, is_default, created_at)
SELECT id, id, 'default',
       '{"methods":["password","email-otp"],"sign_up":true,"attributes":[],"mfa":"off","mfa_methods":["email-otp"]}',
       TRUE, created_at
FROM tenants;
