-- App roles held by groups (their members, nested ones too, hold them), and each app's choice
-- of a `groups` claim: off, ids, or names (of the groups assigned to the app).
CREATE TABLE group_role_assignments (
    tenant_id TEXT NOT NULL,
    api_client_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, api_client_id, group_id, role),
    FOREIGN KEY (tenant_id, api_client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, group_id) REFERENCES directory_groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_role_assignments_by_group ON group_role_assignments (tenant_id, group_id);
ALTER TABLE applications ADD COLUMN groups_claim TEXT NOT NULL DEFAULT 'off';
