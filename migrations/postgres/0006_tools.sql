-- Tools and policy: each organisation's tool settings (enabled, raised tier) and rules (glob →
-- allow / ask / deny), kept as one JSON document (`switchboard_domain::OrgPolicy`).
CREATE TABLE org_tool_policy (
    org_id      UUID PRIMARY KEY REFERENCES organizations(id),
    policy      TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
