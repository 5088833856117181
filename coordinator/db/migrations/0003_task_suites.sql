-- Task suites and node managers (SPEC §5.1).

CREATE TABLE task_suites (
  id bigserial PRIMARY KEY,
  uuid uuid NOT NULL UNIQUE,
  name text,
  description text,
  group_id bigint NOT NULL REFERENCES groups(id) ON DELETE RESTRICT,
  creator_id bigint NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
  tags text[] NOT NULL DEFAULT '{}',
  labels text[] NOT NULL DEFAULT '{}',
  priority integer NOT NULL DEFAULT 0,
  worker_schedule jsonb NOT NULL,
  env_preparation jsonb,
  env_cleanup jsonb,
  -- TaskSuiteState: Open=0, Closed=1, Complete=2, Cancelled=3
  state integer NOT NULL DEFAULT 0,
  last_task_submitted_at timestamptz,
  total_tasks bigint NOT NULL DEFAULT 0,
  pending_tasks bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);
CREATE INDEX task_suites_group ON task_suites (group_id);
CREATE INDEX task_suites_runnable ON task_suites (priority DESC, id) WHERE state IN (0, 1) AND pending_tasks > 0;
CREATE INDEX task_suites_open ON task_suites (last_task_submitted_at) WHERE state = 0;
CREATE INDEX task_suites_tags ON task_suites USING gin (tags);

CREATE TABLE node_managers (
  id bigserial PRIMARY KEY,
  uuid uuid NOT NULL UNIQUE,
  creator_id bigint NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
  tags text[] NOT NULL DEFAULT '{}',
  labels text[] NOT NULL DEFAULT '{}',
  -- NodeManagerState: Idle=0, Preparing=1, Executing=2, Cleanup=3, Offline=4
  state integer NOT NULL DEFAULT 4,
  last_heartbeat timestamptz NOT NULL DEFAULT now(),
  assigned_task_suite_id bigint REFERENCES task_suites(id) ON DELETE SET NULL,
  lease_expires_at timestamptz,
  hostname text,
  max_workers integer NOT NULL DEFAULT 1,
  -- Token signature: a new token (registration, refresh) revokes older ones.
  token_signature bigint NOT NULL,
  token_expires_at timestamptz NOT NULL,
  -- Graceful shutdown requested (the manager finishes its suite, then exits).
  shutdown_requested boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX node_managers_heartbeat ON node_managers (last_heartbeat) WHERE state <> 4;
CREATE INDEX node_managers_suite ON node_managers (assigned_task_suite_id) WHERE assigned_task_suite_id IS NOT NULL;
CREATE INDEX node_managers_tags ON node_managers USING gin (tags);

CREATE TABLE group_node_manager (
  id bigserial PRIMARY KEY,
  group_id bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  node_manager_id bigint NOT NULL REFERENCES node_managers(id) ON DELETE CASCADE,
  role integer NOT NULL,
  UNIQUE (group_id, node_manager_id)
);
CREATE INDEX group_node_manager_manager ON group_node_manager (node_manager_id);

CREATE TABLE task_suite_managers (
  id bigserial PRIMARY KEY,
  task_suite_id bigint NOT NULL REFERENCES task_suites(id) ON DELETE CASCADE,
  node_manager_id bigint NOT NULL REFERENCES node_managers(id) ON DELETE CASCADE,
  -- SelectionType: UserSpecified=0, TagMatched=1
  selection_type integer NOT NULL,
  matched_tags text[] NOT NULL DEFAULT '{}',
  added_at timestamptz NOT NULL DEFAULT now(),
  added_by_user_id bigint REFERENCES users(id) ON DELETE SET NULL,
  -- Set when this manager's preparation hook failed; cleared when the suite reopens.
  prepare_failed_at timestamptz,
  prepare_error text,
  UNIQUE (task_suite_id, node_manager_id)
);
CREATE INDEX task_suite_managers_manager ON task_suite_managers (node_manager_id);

ALTER TABLE active_tasks ADD COLUMN task_suite_id bigint REFERENCES task_suites(id) ON DELETE RESTRICT;
ALTER TABLE active_tasks ADD COLUMN assigned_manager bigint;
ALTER TABLE active_tasks ADD COLUMN attempt integer NOT NULL DEFAULT 0;
ALTER TABLE archived_tasks ADD COLUMN task_suite_id bigint REFERENCES task_suites(id) ON DELETE RESTRICT;
ALTER TABLE archived_tasks ADD COLUMN attempt integer NOT NULL DEFAULT 0;
CREATE INDEX archived_tasks_suite ON archived_tasks (task_suite_id) WHERE task_suite_id IS NOT NULL;
CREATE INDEX active_tasks_assigned_manager ON active_tasks (assigned_manager) WHERE assigned_manager IS NOT NULL;

-- Claim walks: per group for independent workers (standalone tasks only),
-- per suite for node managers; both in dispatch order (priority desc, oldest
-- first) over Ready rows only.
CREATE INDEX active_tasks_ready_by_group ON active_tasks (group_id, priority DESC, id)
  WHERE state = 1 AND task_suite_id IS NULL;
CREATE INDEX active_tasks_ready_by_suite ON active_tasks (task_suite_id, priority DESC, id)
  WHERE state = 1 AND task_suite_id IS NOT NULL;

CREATE TABLE task_execution_failures (
  id bigserial PRIMARY KEY,
  task_id bigint NOT NULL,
  task_uuid uuid NOT NULL,
  task_suite_id bigint REFERENCES task_suites(id) ON DELETE CASCADE,
  node_manager_id bigint NOT NULL REFERENCES node_managers(id) ON DELETE CASCADE,
  failure_count integer NOT NULL DEFAULT 0,
  last_failed_at timestamptz NOT NULL DEFAULT now(),
  error_messages text[] NOT NULL DEFAULT '{}',
  worker_local_id integer,
  -- Set when the manager gave up on the task (AbortTask): it is not given to this manager again.
  aborted_at timestamptz,
  UNIQUE (task_uuid, node_manager_id)
);
CREATE INDEX task_execution_failures_task ON task_execution_failures (task_id);

-- Suite counters and state move in the same transaction as task rows, so they
-- are never wrong after a crash: statement-level triggers over transition
-- tables (one UPDATE per statement, also for bulk inserts).
CREATE FUNCTION task_suites_on_task_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  cancelled uuid;
BEGIN
  WITH bumped AS (
    UPDATE task_suites s SET
      total_tasks = s.total_tasks + c.n,
      pending_tasks = s.pending_tasks + c.n,
      last_task_submitted_at = now(),
      -- A new task reopens a Closed or Complete suite.
      state = CASE WHEN s.state IN (1, 2) THEN 0 ELSE s.state END,
      completed_at = CASE WHEN s.state IN (1, 2) THEN NULL ELSE s.completed_at END,
      updated_at = now()
    FROM (SELECT task_suite_id, count(*) AS n FROM new_rows WHERE task_suite_id IS NOT NULL GROUP BY 1) c
    WHERE s.id = c.task_suite_id
    RETURNING s.uuid, s.state
  )
  SELECT uuid INTO cancelled FROM bumped WHERE state = 3 LIMIT 1;
  -- Checked after the suite row is locked, so a cancellation committing
  -- meanwhile is seen: a Cancelled suite takes no new task.
  IF cancelled IS NOT NULL THEN
    RAISE EXCEPTION 'suite % is Cancelled and takes no new tasks', cancelled USING ERRCODE = 'MXS01';
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION task_suites_on_task_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE task_suites s SET
    pending_tasks = GREATEST(0, s.pending_tasks - c.n),
    -- Open or Closed with nothing pending: Complete.
    state = CASE WHEN s.state IN (0, 1) AND s.pending_tasks - c.n <= 0 THEN 2 ELSE s.state END,
    completed_at = CASE WHEN s.state IN (0, 1) AND s.pending_tasks - c.n <= 0 THEN now() ELSE s.completed_at END,
    updated_at = now()
  FROM (SELECT task_suite_id, count(*) AS n FROM old_rows WHERE task_suite_id IS NOT NULL GROUP BY 1) c
  WHERE s.id = c.task_suite_id;
  RETURN NULL;
END $$;

CREATE TRIGGER active_tasks_suite_insert AFTER INSERT ON active_tasks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_suites_on_task_insert();
CREATE TRIGGER active_tasks_suite_delete AFTER DELETE ON active_tasks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION task_suites_on_task_delete();

-- Pushes to managers connected to another coordinator travel by NOTIFY; a
-- push too large for a NOTIFY payload is parked here and NOTIFY carries its id.
CREATE TABLE manager_push_outbox (
  id bigserial PRIMARY KEY,
  node_manager_id bigint NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
