-- Memory (DESIGN 4.8): facts the assistant may remember, per organisation and scope —
-- organisation-wide (`scope_key` = 'org') or one person's (`scope_key` = the user's id) —
-- once per scope (`content_hash`). Full text through a generated `tsvector` (English
-- stemming) with a GIN index.
CREATE TABLE memories (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL REFERENCES organizations(id),
    scope_key     TEXT NOT NULL,
    user_id       UUID,
    content       TEXT NOT NULL,
    content_hash  BYTEA NOT NULL,
    actor_kind    TEXT NOT NULL,
    actor_id      TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    search        TSVECTOR GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
    UNIQUE (org_id, scope_key, content_hash)
);
CREATE INDEX memories_by_scope ON memories(org_id, scope_key, created_at);
CREATE INDEX memories_search ON memories USING GIN (search);
