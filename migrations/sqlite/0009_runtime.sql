-- The assistant runtime (DESIGN 4.4): organisation agents with their skills, conversations
-- and their messages, runs (persisted so any process can resume one after an approval) and
-- each run's event stream (what the SSE stream sends, replayable with Last-Event-ID).
CREATE TABLE agents (
    id            BLOB PRIMARY KEY NOT NULL,
    org_id        BLOB NOT NULL REFERENCES organizations(id),
    slug          TEXT NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    instructions  TEXT NOT NULL,
    model         TEXT,
    max_steps     BIGINT NOT NULL,
    tools         TEXT NOT NULL,
    min_role      TEXT NOT NULL,
    skills        TEXT NOT NULL,
    template      TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (org_id, slug)
);

CREATE TABLE conversations (
    id          BLOB PRIMARY KEY NOT NULL,
    org_id      BLOB NOT NULL REFERENCES organizations(id),
    user_id     BLOB NOT NULL,
    title       TEXT NOT NULL,
    agent       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX conversations_by_user ON conversations(org_id, user_id, updated_at);

CREATE TABLE messages (
    id               BLOB PRIMARY KEY NOT NULL,
    conversation_id  BLOB NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    org_id           BLOB NOT NULL,
    seq              BIGINT NOT NULL,
    role             TEXT NOT NULL,
    body             TEXT NOT NULL,
    run_id           BLOB,
    created_at       TEXT NOT NULL,
    UNIQUE (conversation_id, seq)
);

CREATE TABLE runs (
    id               BLOB PRIMARY KEY NOT NULL,
    org_id           BLOB NOT NULL REFERENCES organizations(id),
    conversation_id  BLOB NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_id          BLOB NOT NULL,
    agent            TEXT NOT NULL,
    status           TEXT NOT NULL,
    state            TEXT NOT NULL,
    waiting_on       BLOB,
    error            TEXT,
    steps            BIGINT NOT NULL,
    cancel_requested BOOLEAN NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    claimed_at       TEXT
);
CREATE INDEX runs_by_conversation ON runs(conversation_id, created_at);
CREATE INDEX runs_by_status ON runs(status);

CREATE TABLE run_events (
    run_id      BLOB NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    org_id      BLOB NOT NULL,
    seq         BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
