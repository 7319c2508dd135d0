-- Saved fleet tasks: a name for a type, payload and target that people run again from the
-- console (each run is an ordinary task, governed like any other).
CREATE TABLE task_templates (
    id           BLOB PRIMARY KEY NOT NULL,
    org_id       BLOB NOT NULL REFERENCES organizations(id),
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    -- JSON: {"agent_id": …} or {"labels": {…}}.
    target       TEXT NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT,
    created_at   TEXT NOT NULL,
    UNIQUE (org_id, name)
);

-- Claims take the best queued task: highest priority first, then the longest waiting. The
-- index follows that order, so a claim reads one entry instead of sorting the queue.
DROP INDEX tasks_claimable;
CREATE INDEX tasks_claimable ON tasks(org_id, status, priority DESC, run_after, id);
