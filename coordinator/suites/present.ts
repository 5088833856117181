/**
 * Suite rows rendered as the wire `SuiteInfo` (`GET /suites/{uuid}`, suite
 * queries and the `SuiteAssigned` push): numeric `state` with `state_name`,
 * counters, schedule and hooks, wire timestamps and the linked managers.
 */
import type { Db } from "../db/connect.ts";
import { formatTimestamp } from "../../shared/time.ts";
import {
  type HookSpec,
  SELECTION_TYPES,
  type SuiteInfo,
  type SuiteManagerInfo,
  TASK_SUITE_STATES,
  type WorkerSchedule,
} from "../../shared/wire/suites.ts";
import { type SuiteManagerRow, suiteManagerRows, suiteOwnerNames, type SuiteRow } from "./store.ts";

const timestamp = (date: Date | null) => (date === null ? null : formatTimestamp(date));

function presentManager(row: SuiteManagerRow): SuiteManagerInfo {
  return {
    manager_uuid: row.manager_uuid,
    selection_type: SELECTION_TYPES[row.selection_type] ?? "TagMatched",
    matched_tags: row.matched_tags,
    added_at: formatTimestamp(row.added_at),
    working: row.working,
    prepare_error: row.prepare_error,
  };
}

/** Renders several suites (two queries in all, whatever their number), in the order given. */
export async function suiteInfos(db: Db, rows: readonly SuiteRow[]): Promise<SuiteInfo[]> {
  const ids = rows.map((r) => r.id);
  const [names, managers] = await Promise.all([suiteOwnerNames(db, ids), suiteManagerRows(db, ids)]);
  const bySuite = new Map<number, SuiteManagerInfo[]>();
  for (const m of managers) {
    const list = bySuite.get(m.task_suite_id) ?? [];
    list.push(presentManager(m));
    bySuite.set(m.task_suite_id, list);
  }
  return rows.map((row) => {
    const owner = names.get(row.id);
    if (owner === undefined) throw new Error(`suite ${row.uuid} has no group or creator row`);
    return {
      uuid: row.uuid,
      name: row.name,
      description: row.description,
      group_name: owner.group_name,
      creator_username: owner.creator_username,
      tags: row.tags,
      labels: row.labels,
      priority: row.priority,
      state: row.state,
      state_name: TASK_SUITE_STATES[row.state] ?? "Open",
      total_tasks: row.total_tasks,
      pending_tasks: row.pending_tasks,
      // Stored from the validated (defaults filled) request, so already in wire shape.
      worker_schedule: row.worker_schedule as WorkerSchedule,
      env_preparation: row.env_preparation as HookSpec | null,
      env_cleanup: row.env_cleanup as HookSpec | null,
      created_at: formatTimestamp(row.created_at),
      updated_at: formatTimestamp(row.updated_at),
      completed_at: timestamp(row.completed_at),
      last_task_submitted_at: timestamp(row.last_task_submitted_at),
      assigned_managers: bySuite.get(row.id) ?? [],
    };
  });
}

/**
 * Renders one suite as the wire `SuiteInfo`.
 *
 * @example
 * const info = await suiteInfo(sql, await getSuiteByUuid(sql, uuid));
 */
export async function suiteInfo(db: Db, row: SuiteRow): Promise<SuiteInfo> {
  const [info] = await suiteInfos(db, [row]);
  return info;
}
