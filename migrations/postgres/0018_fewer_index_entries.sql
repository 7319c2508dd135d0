-- Fewer index entries per write on the queue's path (each task writes one task row, three
-- history rows and about four audit links):
-- * an audit link is found by its organisation and seq, never by its id: (org_id, seq) is the
--   key, and the kind index, which no query could use (kinds are matched by prefix), goes;
-- * a task's history is read by task in time order: that is the key;
-- * the lease sweeper reads leased tasks only: the index holds those alone, so a task that
--   finishes takes its entry with it.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_org_id_seq_key;
ALTER TABLE audit_events ADD PRIMARY KEY (org_id, seq);
DROP INDEX audit_events_by_org_kind;

ALTER TABLE task_events DROP CONSTRAINT task_events_pkey;
DROP INDEX task_events_by_task;
ALTER TABLE task_events ADD PRIMARY KEY (task_id, at, id);

DROP INDEX tasks_leased;
CREATE INDEX tasks_leased ON tasks(lease_expires_at, id) WHERE status = 'leased';
