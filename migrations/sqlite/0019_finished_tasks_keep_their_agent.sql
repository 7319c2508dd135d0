-- A finished task keeps the agent that last held its lease (who ran it), so a server's page can
-- list the tasks it ran. Tasks finished before kept none: take it from their history, the last
-- move out of a lease.
UPDATE tasks SET lease_agent = (
    SELECT e.agent_id FROM task_events e
    WHERE e.task_id = tasks.id AND e.from_status = 'leased' AND e.agent_id IS NOT NULL
    ORDER BY e.at DESC LIMIT 1)
WHERE lease_agent IS NULL AND status IN ('succeeded', 'failed', 'dead', 'cancelled');
