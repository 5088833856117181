-- The suite counter triggers of 0003 again, with each state code named.
-- Suite states (coordinator/suites/states.ts): Open = 0, Closed = 1,
-- Complete = 2, Cancelled = 3. Same behaviour; only the text changes.
CREATE OR REPLACE FUNCTION task_suites_on_task_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  cancelled uuid;
BEGIN
  WITH bumped AS (
    UPDATE task_suites s SET
      total_tasks = s.total_tasks + c.n,
      pending_tasks = s.pending_tasks + c.n,
      last_task_submitted_at = now(),
      -- Transition "task submitted": Closed or Complete → Open.
      state = CASE WHEN s.state IN (1 /* Closed */, 2 /* Complete */) THEN 0 /* Open */ ELSE s.state END,
      completed_at = CASE WHEN s.state IN (1 /* Closed */, 2 /* Complete */) THEN NULL ELSE s.completed_at END,
      updated_at = now()
    FROM (SELECT task_suite_id, count(*) AS n FROM new_rows WHERE task_suite_id IS NOT NULL GROUP BY 1) c
    WHERE s.id = c.task_suite_id
    RETURNING s.uuid, s.state
  )
  SELECT uuid INTO cancelled FROM bumped WHERE state = 3 /* Cancelled */ LIMIT 1;
  -- Checked after the suite row is locked, so a cancellation committing
  -- meanwhile is seen: a Cancelled suite takes no new task.
  IF cancelled IS NOT NULL THEN
    RAISE EXCEPTION 'suite % is Cancelled and takes no new tasks', cancelled USING ERRCODE = 'MXS01';
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION task_suites_on_task_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE task_suites s SET
    pending_tasks = GREATEST(0, s.pending_tasks - c.n),
    -- Transition "last pending task done": Open or Closed → Complete.
    state = CASE WHEN s.state IN (0 /* Open */, 1 /* Closed */) AND s.pending_tasks - c.n <= 0
      THEN 2 /* Complete */ ELSE s.state END,
    completed_at = CASE WHEN s.state IN (0 /* Open */, 1 /* Closed */) AND s.pending_tasks - c.n <= 0
      THEN now() ELSE s.completed_at END,
    updated_at = now()
  FROM (SELECT task_suite_id, count(*) AS n FROM old_rows WHERE task_suite_id IS NOT NULL GROUP BY 1) c
  WHERE s.id = c.task_suite_id;
  RETURN NULL;
END $$;

-- Reopening (Closed or Complete → Open) gives every manager whose
-- preparation failed another try (function of 0004).
DROP TRIGGER task_suites_reopen ON task_suites;
CREATE TRIGGER task_suites_reopen AFTER UPDATE OF state ON task_suites
  FOR EACH ROW WHEN (OLD.state IN (1 /* Closed */, 2 /* Complete */) AND NEW.state = 0 /* Open */)
  EXECUTE FUNCTION task_suites_on_reopen();
