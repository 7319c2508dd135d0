-- The workspace (DESIGN 4.8): requests and tickets (one table, `kind` tells them apart; each
-- kind numbered from 1 per organisation), their comments, and the activity log — one entry
-- for every change (who, what, from → to), kept when its subject is deleted.
CREATE TABLE work_items (
    id           UUID PRIMARY KEY,
    org_id       UUID NOT NULL REFERENCES organizations(id),
    kind         TEXT NOT NULL,
    number       BIGINT NOT NULL,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL,
    category     TEXT,
    priority     TEXT NOT NULL,
    status       TEXT NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    resolved_at  TIMESTAMPTZ,
    UNIQUE (org_id, kind, number)
);
CREATE INDEX work_items_by_status ON work_items(org_id, kind, status, updated_at);

CREATE TABLE item_comments (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL,
    item_id     UUID NOT NULL REFERENCES work_items(id) ON DELETE CASCADE,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT,
    author      TEXT NOT NULL,
    body        TEXT NOT NULL,
    internal    BOOLEAN NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX item_comments_by_item ON item_comments(item_id, created_at);

CREATE TABLE activity (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL,
    subject_kind  TEXT NOT NULL,
    subject_id    UUID NOT NULL,
    actor_kind    TEXT NOT NULL,
    actor_id      TEXT,
    action        TEXT NOT NULL,
    field         TEXT,
    from_value    TEXT,
    to_value      TEXT,
    at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX activity_by_subject ON activity(org_id, subject_id, at);
CREATE INDEX activity_by_org ON activity(org_id, at);
