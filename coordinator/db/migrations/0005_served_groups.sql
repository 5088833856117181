-- Which groups a worker or node manager actually serves (runs tasks and
-- suites of, and may read the tasks, artifacts and attachments of): a
-- group→runner role of Write (1) or Admin (2), while the user who registered
-- the runner is Active (users.state 0) and still holds Write (1) or Admin (2)
-- in that group, or is a site admin. Deleting or locking that user, or taking
-- them out of the group, therefore stops their runners from serving it at
-- once, without rewriting the group→runner rows.
CREATE VIEW worker_served_groups AS
SELECT gw.worker_id, gw.group_id, gw.role
FROM group_worker gw
JOIN workers w ON w.id = gw.worker_id
JOIN users u ON u.id = w.creator_id
WHERE gw.role >= 1 AND u.state = 0
  AND (u.admin OR EXISTS (
    SELECT 1 FROM user_group ug WHERE ug.user_id = u.id AND ug.group_id = gw.group_id AND ug.role >= 1));

CREATE VIEW manager_served_groups AS
SELECT gm.node_manager_id, gm.group_id, gm.role
FROM group_node_manager gm
JOIN node_managers m ON m.id = gm.node_manager_id
JOIN users u ON u.id = m.creator_id
WHERE gm.role >= 1 AND u.state = 0
  AND (u.admin OR EXISTS (
    SELECT 1 FROM user_group ug WHERE ug.user_id = u.id AND ug.group_id = gm.group_id AND ug.role >= 1));

-- A manager is eligible for a suite (assignment, abort accounting) only while
-- it serves the suite's group in the sense above.
CREATE OR REPLACE VIEW suite_eligible_managers AS
SELECT tsm.task_suite_id, tsm.node_manager_id, tsm.selection_type
FROM task_suite_managers tsm
JOIN task_suites s ON s.id = tsm.task_suite_id
WHERE tsm.prepare_failed_at IS NULL
  AND (tsm.selection_type = 0 OR NOT EXISTS (
    SELECT 1 FROM task_suite_managers u WHERE u.task_suite_id = tsm.task_suite_id AND u.selection_type = 0))
  AND EXISTS (
    SELECT 1 FROM manager_served_groups gm
    WHERE gm.node_manager_id = tsm.node_manager_id AND gm.group_id = s.group_id);
