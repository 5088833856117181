-- Indexes for dispatch and task bookkeeping (the claim indexes come with
-- task suites in 0003).

CREATE INDEX active_tasks_assigned_worker ON active_tasks (assigned_worker) WHERE assigned_worker IS NOT NULL;
CREATE INDEX active_tasks_upstream ON active_tasks (upstream_task_uuid) WHERE upstream_task_uuid IS NOT NULL;
CREATE INDEX active_tasks_group_state ON active_tasks (group_id, state);
CREATE INDEX archived_tasks_group_state ON archived_tasks (group_id, state);
CREATE INDEX archived_tasks_tags ON archived_tasks USING gin (tags);
CREATE INDEX archived_tasks_labels ON archived_tasks USING gin (labels);
CREATE INDEX workers_labels ON workers USING gin (labels);

