-- Task history rows without a foreign key to organizations, as on PostgreSQL (see its 0020):
-- the history belongs to its task, which keeps its own key. SQLite cannot drop a constraint,
-- so the table is rebuilt with the same columns, key and index.
CREATE TABLE task_events_new (
    id           BLOB PRIMARY KEY NOT NULL,
    org_id       BLOB NOT NULL,
    task_id      BLOB NOT NULL,
    at           TEXT NOT NULL,
    -- status (from → to), progress, or log.
    kind         TEXT NOT NULL,
    from_status  TEXT,
    to_status    TEXT,
    agent_id     BLOB,
    message      TEXT
);
INSERT INTO task_events_new (id, org_id, task_id, at, kind, from_status, to_status, agent_id, message)
    SELECT id, org_id, task_id, at, kind, from_status, to_status, agent_id, message FROM task_events;
DROP TABLE task_events;
ALTER TABLE task_events_new RENAME TO task_events;
CREATE INDEX task_events_by_task ON task_events(task_id, at);
