-- How many users each tenant has, kept by triggers in the same transaction as every insert
-- and delete: a SCIM listing without a filter reports totalResults without counting a
-- million rows.
CREATE TABLE user_counts (
    tenant_id TEXT PRIMARY KEY,
    users BIGINT NOT NULL
);
INSERT INTO user_counts (tenant_id, users) SELECT tenant_id, COUNT(*) FROM users GROUP BY tenant_id;
CREATE TRIGGER users_counted_in AFTER INSERT ON users BEGIN
    INSERT INTO user_counts (tenant_id, users) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET users = users + 1;
END;
CREATE TRIGGER users_counted_out AFTER DELETE ON users BEGIN
    UPDATE user_counts SET users = users - 1 WHERE tenant_id = OLD.tenant_id;
END;
