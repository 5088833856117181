/**
 * Automatic suite ↔ manager matching (SPEC §5.2): a manager may serve a suite
 * by tags when `suite.tags ⊆ manager.tags` and it serves the suite's group
 * (view `manager_served_groups`: the group has Write or Admin on it and its
 * registering user is active with Write or Admin in the group). Matches are stored as TagMatched rows of
 * `task_suite_managers`; UserSpecified rows are never touched here.
 */
import type { Db } from "../db/connect.ts";
import { SuiteState } from "./states.ts";

/** Selection type codes of `task_suite_managers`. */
export const SelectionTypeCode = { UserSpecified: 0, TagMatched: 1 } as const;

/**
 * Replaces the TagMatched set of a suite with every manager that matches now.
 * Returns the uuids of the matched managers.
 */
export async function refreshTagMatches(tx: Db, suiteId: number): Promise<string[]> {
  const matched = await tx<{ id: number; uuid: string }[]>`
    SELECT m.id, m.uuid FROM node_managers m
    JOIN task_suites s ON s.id = ${suiteId}
    JOIN manager_served_groups gm ON gm.node_manager_id = m.id AND gm.group_id = s.group_id
    WHERE s.tags <@ m.tags
    ORDER BY m.id`;
  const ids = matched.map((m) => m.id);
  await tx`
    DELETE FROM task_suite_managers
    WHERE task_suite_id = ${suiteId} AND selection_type = ${SelectionTypeCode.TagMatched}
      AND NOT (node_manager_id = ANY(${ids}::bigint[]))`;
  await tx`
    INSERT INTO task_suite_managers (task_suite_id, node_manager_id, selection_type, matched_tags)
    SELECT ${suiteId}, m.id, ${SelectionTypeCode.TagMatched}, s.tags
    FROM node_managers m JOIN task_suites s ON s.id = ${suiteId}
    WHERE m.id = ANY(${ids}::bigint[])
    ON CONFLICT (task_suite_id, node_manager_id) DO NOTHING`;
  return matched.map((m) => m.uuid);
}

/**
 * Adds TagMatched rows linking a manager to every live (not Cancelled) suite
 * it matches, and drops its TagMatched rows that no longer match (after a
 * tags or groups change). Returns how many suites it now matches by tags.
 */
export async function matchSuitesForManager(tx: Db, managerId: number): Promise<number> {
  await tx`
    DELETE FROM task_suite_managers tsm
    USING task_suites s, node_managers m
    WHERE tsm.task_suite_id = s.id AND tsm.node_manager_id = m.id AND m.id = ${managerId}
      AND tsm.selection_type = ${SelectionTypeCode.TagMatched}
      AND (NOT (s.tags <@ m.tags) OR NOT EXISTS (
        SELECT 1 FROM manager_served_groups gm
        WHERE gm.node_manager_id = m.id AND gm.group_id = s.group_id))`;
  await tx`
    INSERT INTO task_suite_managers (task_suite_id, node_manager_id, selection_type, matched_tags)
    SELECT s.id, m.id, ${SelectionTypeCode.TagMatched}, s.tags
    FROM node_managers m
    JOIN manager_served_groups gm ON gm.node_manager_id = m.id
    JOIN task_suites s ON s.group_id = gm.group_id AND s.tags <@ m.tags
    WHERE m.id = ${managerId} AND s.state <> ${SuiteState.Cancelled}
    ON CONFLICT (task_suite_id, node_manager_id) DO NOTHING`;
  const [row] = await tx<{ n: number }[]>`
    SELECT count(*)::int AS n FROM task_suite_managers
    WHERE node_manager_id = ${managerId} AND selection_type = ${SelectionTypeCode.TagMatched}`;
  return row.n;
}
