-- Tasks may name the suite they belong to; independent workers never run them.
ALTER TABLE active_tasks ADD COLUMN suite_uuid uuid;
ALTER TABLE archived_tasks ADD COLUMN suite_uuid uuid;

-- Claiming takes, per group the worker serves, the first Ready standalone task
-- in dispatch order (priority desc, then oldest). This partial index serves
-- that walk directly whatever the table statistics say, and holds only Ready
-- rows, so it stays small as tasks finish.
CREATE INDEX active_tasks_ready_by_group ON active_tasks (group_id, priority DESC, id)
  WHERE state = 1 AND suite_uuid IS NULL;

CREATE INDEX active_tasks_assigned_worker ON active_tasks (assigned_worker) WHERE assigned_worker IS NOT NULL;
CREATE INDEX active_tasks_upstream ON active_tasks (upstream_task_uuid) WHERE upstream_task_uuid IS NOT NULL;
CREATE INDEX active_tasks_group_state ON active_tasks (group_id, state);
CREATE INDEX archived_tasks_group_state ON archived_tasks (group_id, state);
CREATE INDEX archived_tasks_tags ON archived_tasks USING gin (tags);
CREATE INDEX archived_tasks_labels ON archived_tasks USING gin (labels);
CREATE INDEX workers_labels ON workers USING gin (labels);

