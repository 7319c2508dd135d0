-- The claim index holds queued tasks only (a partial index): it stays as small as the
-- queue, a task leaving the queue takes its entry with it, and no other status change adds
-- one. Claims read its first entry in priority order.
DROP INDEX tasks_claimable;
CREATE INDEX tasks_queue ON tasks(org_id, priority DESC, run_after, id) WHERE status = 'queued';
