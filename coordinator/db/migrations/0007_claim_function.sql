-- A node manager's claim of Ready tasks of its assigned suite, as a function
-- so that PostgreSQL keeps its plans per connection: the single statement
-- it replaces was planned again on every call (planning cost more than
-- running it). Same rules as before (coordinator/scheduler/suite_claim.ts):
-- only the manager's assigned suite (and the one named, when one is), only
-- while the manager serves the suite's group and the suite's state is one of
-- p_runnable, tasks in dispatch order (priority desc, oldest first), skipping
-- locked rows and tasks this manager aborted; claimed tasks turn Running (2),
-- held by the manager, attempt + 1.
--
-- Returns no row when the manager has no such suite; else one row per
-- claimed task, or a single row with a NULL id when none was claimed.
CREATE FUNCTION claim_suite_tasks(p_manager bigint, p_suite uuid, p_max integer, p_runnable integer[])
RETURNS TABLE (
  suite_uuid uuid, suite_state integer, id bigint, uuid uuid, timeout bigint, spec jsonb,
  upstream_task_uuid uuid, attempt integer
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_suite bigint;
  v_uuid uuid;
  v_state integer;
  v_claimed integer;
BEGIN
  SELECT s.id, s.uuid, s.state INTO v_suite, v_uuid, v_state
  FROM node_managers m JOIN task_suites s ON s.id = m.assigned_task_suite_id
  WHERE m.id = p_manager AND (p_suite IS NULL OR s.uuid = p_suite)
    AND EXISTS (
      SELECT 1 FROM manager_served_groups gm WHERE gm.node_manager_id = m.id AND gm.group_id = s.group_id);
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF v_state = ANY(p_runnable) THEN
    -- The claimed ids come as an array (an index lookup), never as a join the
    -- cached generic plan could turn into a scan of the whole table.
    RETURN QUERY
    WITH claimed AS (
      UPDATE active_tasks t SET state = 2 /* Running */, assigned_manager = p_manager,
        attempt = t.attempt + 1, updated_at = now()
      WHERE t.id = ANY(ARRAY(
        SELECT c.id FROM active_tasks c
        WHERE c.task_suite_id = v_suite AND c.state = 1 /* Ready */
          AND NOT EXISTS (
            SELECT 1 FROM task_execution_failures f
            WHERE f.task_uuid = c.uuid AND f.node_manager_id = p_manager AND f.aborted_at IS NOT NULL)
        ORDER BY c.priority DESC, c.id
        LIMIT p_max
        FOR UPDATE SKIP LOCKED))
      RETURNING t.id, t.uuid, t.timeout, t.spec, t.upstream_task_uuid, t.attempt, t.priority
    )
    SELECT v_uuid, v_state, c.id, c.uuid, c.timeout, c.spec, c.upstream_task_uuid, c.attempt
    FROM claimed c ORDER BY c.priority DESC, c.id;
    GET DIAGNOSTICS v_claimed = ROW_COUNT;
    IF v_claimed > 0 THEN
      RETURN;
    END IF;
  END IF;
  RETURN QUERY SELECT v_uuid, v_state, NULL::bigint, NULL::uuid, NULL::bigint, NULL::jsonb, NULL::uuid, NULL::integer;
END $$;
