-- Groups of users and of other groups (SCIM Groups, `portico group`). Looked up by name
-- (case-insensitively) and by external id, so both are indexed; memberships are looked up from
-- either side.
CREATE TABLE directory_groups (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    external_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX directory_groups_by_name ON directory_groups (tenant_id, lower(display_name));
CREATE INDEX directory_groups_by_external_id ON directory_groups (tenant_id, external_id);

CREATE TABLE group_members (
    tenant_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    member_type TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, member_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES directory_groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_by_member ON group_members (tenant_id, member_id);
