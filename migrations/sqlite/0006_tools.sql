-- Tools and policy: each organisation's tool settings (enabled, raised tier) and rules (glob →
-- allow / ask / deny), kept as one JSON document (`switchboard_domain::OrgPolicy`).
CREATE TABLE org_tool_policy (
    org_id      BLOB PRIMARY KEY NOT NULL REFERENCES organizations(id),
    policy      TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
