-- Which managers may run a suite now, and reopening clears preparation failures.

-- A manager may run a suite (be assigned to it, count for failure
-- finalisation) when it is linked to the suite, its preparation hook has not
-- failed there since the suite last reopened, the link is UserSpecified or
-- the suite has no UserSpecified link at all (those are exclusive), and the
-- suite's group still has Write or Admin on the manager.
CREATE VIEW suite_eligible_managers AS
SELECT tsm.task_suite_id, tsm.node_manager_id, tsm.selection_type
FROM task_suite_managers tsm
JOIN task_suites s ON s.id = tsm.task_suite_id
WHERE tsm.prepare_failed_at IS NULL
  AND (tsm.selection_type = 0 OR NOT EXISTS (
    SELECT 1 FROM task_suite_managers u WHERE u.task_suite_id = tsm.task_suite_id AND u.selection_type = 0))
  AND EXISTS (
    SELECT 1 FROM group_node_manager gm
    WHERE gm.node_manager_id = tsm.node_manager_id AND gm.group_id = s.group_id AND gm.role >= 1);

-- A manager whose preparation hook failed is not offered the suite again
-- until the suite reopens (Closed or Complete back to Open, whatever caused
-- it): then every manager gets another try.
CREATE FUNCTION task_suites_on_reopen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE task_suite_managers SET prepare_failed_at = NULL, prepare_error = NULL
  WHERE task_suite_id = NEW.id AND prepare_failed_at IS NOT NULL;
  RETURN NULL;
END $$;

CREATE TRIGGER task_suites_reopen AFTER UPDATE OF state ON task_suites
  FOR EACH ROW WHEN (OLD.state IN (1, 2) AND NEW.state = 0) EXECUTE FUNCTION task_suites_on_reopen();
