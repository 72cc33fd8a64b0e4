-- How many users each tenant has, kept by triggers in the same transaction as every insert
-- and delete: a SCIM listing without a filter reports totalResults without counting a
-- million rows. Statement-level, so a bulk insert updates each tenant's count once.
CREATE TABLE user_counts (
    tenant_id TEXT PRIMARY KEY,
    users BIGINT NOT NULL
);
INSERT INTO user_counts (tenant_id, users) SELECT tenant_id, COUNT(*) FROM users GROUP BY tenant_id;

CREATE FUNCTION users_counted_in() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_counts (tenant_id, users)
        SELECT tenant_id, COUNT(*) FROM inserted GROUP BY tenant_id
        ON CONFLICT (tenant_id) DO UPDATE SET users = user_counts.users + EXCLUDED.users;
    RETURN NULL;
END;
$$;
CREATE FUNCTION users_counted_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_counts SET users = user_counts.users - gone.n
        FROM (SELECT tenant_id, COUNT(*) AS n FROM deleted GROUP BY tenant_id) AS gone
        WHERE user_counts.tenant_id = gone.tenant_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER users_counted_in AFTER INSERT ON users
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION users_counted_in();
CREATE TRIGGER users_counted_out AFTER DELETE ON users
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION users_counted_out();
