-- The fleet (DESIGN 4.9). Registration tokens enrol server agents into an organisation (the
-- token and each agent's secret are kept as SHA-256 hashes only). Tasks wait in one queue:
-- claimed oldest-first by priority among those an agent may run (targeted at it, or at labels
-- it carries), leased for a while the agent extends; every move is a row in task_events.
CREATE TABLE registration_tokens (
    id           BLOB PRIMARY KEY NOT NULL,
    org_id       BLOB NOT NULL REFERENCES organizations(id),
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    max_uses     INTEGER,
    uses         INTEGER NOT NULL DEFAULT 0,
    expires_at   TEXT,
    revoked_at   TEXT,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX registration_tokens_by_org ON registration_tokens(org_id, created_at);

CREATE TABLE fleet_agents (
    id           BLOB PRIMARY KEY NOT NULL,
    org_id       BLOB NOT NULL REFERENCES organizations(id),
    name         TEXT NOT NULL,
    host         TEXT NOT NULL,
    version      TEXT NOT NULL,
    -- JSON object of labels, keys sorted.
    labels       TEXT NOT NULL,
    secret_hash  BLOB NOT NULL,
    token_id     BLOB,
    revoked_at   TEXT,
    last_seen    TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX fleet_agents_by_org ON fleet_agents(org_id, name);

CREATE TABLE tasks (
    id                BLOB PRIMARY KEY NOT NULL,
    org_id            BLOB NOT NULL REFERENCES organizations(id),
    kind              TEXT NOT NULL,
    payload           TEXT NOT NULL,
    target_agent      BLOB,
    -- JSON object: the labels an agent must all carry (empty: any agent).
    target_labels     TEXT NOT NULL,
    priority          INTEGER NOT NULL,
    idempotency_key   TEXT,
    status            TEXT NOT NULL,
    attempts          INTEGER NOT NULL,
    max_attempts      INTEGER NOT NULL,
    run_after         TEXT NOT NULL,
    lease_agent       BLOB,
    lease_expires_at  TEXT,
    result            TEXT,
    error             TEXT,
    approval_id       TEXT,
    actor_kind        TEXT NOT NULL,
    actor_id          TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (org_id, idempotency_key)
);
CREATE INDEX tasks_claimable ON tasks(org_id, status, priority, run_after);
CREATE INDEX tasks_leased ON tasks(status, lease_expires_at);
CREATE INDEX tasks_by_org ON tasks(org_id, created_at);

CREATE TABLE task_events (
    id           BLOB PRIMARY KEY NOT NULL,
    org_id       BLOB NOT NULL REFERENCES organizations(id),
    task_id      BLOB NOT NULL,
    at           TEXT NOT NULL,
    -- status (from → to), progress, or log.
    kind         TEXT NOT NULL,
    from_status  TEXT,
    to_status    TEXT,
    agent_id     BLOB,
    message      TEXT
);
CREATE INDEX task_events_by_task ON task_events(task_id, at);
