-- Projects with their milestones (DESIGN 4.8). Dates are ISO `YYYY-MM-DD` text on both
-- databases (a calendar day, no time zone); milestones keep their order in `position`.
CREATE TABLE projects (
    id           UUID PRIMARY KEY,
    org_id       UUID NOT NULL REFERENCES organizations(id),
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    status       TEXT NOT NULL,
    start_date   TEXT,
    due_date     TEXT,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX projects_by_org ON projects(org_id, status, updated_at);

CREATE TABLE milestones (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL,
    project_id  UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    status      TEXT NOT NULL,
    progress    BIGINT NOT NULL,
    due_date    TEXT,
    position    BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX milestones_by_project ON milestones(project_id, position);
