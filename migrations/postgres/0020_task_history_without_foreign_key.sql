-- Every move of every task writes a history row, and each row's foreign key to organizations
-- cost a check per row and a shared lock on the organisation's row, which concurrent moves
-- of one organisation's tasks then share through multixacts. The history belongs to its task,
-- and the task keeps its own key to the organisation (as audit_events, the other log written
-- on every move, has none); deleting an organisation deletes its tasks' history first.
ALTER TABLE task_events DROP CONSTRAINT task_events_org_id_fkey;
