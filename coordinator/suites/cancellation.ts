/**
 * Cancelling a suite (SPEC §5.2): archive its waiting tasks and mark it
 * Cancelled in one transaction, then tell the managers working on it
 * (`CancelSuite`) and, when asked, the managers holding its running tasks
 * (`CancelTask`).
 */
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { ManagerPushes } from "../ws/push.ts";
import type { CoordinatorPush } from "../../shared/wire/manager_ws.ts";
import { pushAll } from "./notify.ts";
import { TASK_SUITE_STATES } from "../../shared/wire/suites.ts";
import { cancelSuite, type SuiteRow } from "./store.ts";

/** What a cancellation needs from the coordinator. */
export interface CancellationDeps {
  sql: Sql;
  pushes: ManagerPushes;
  log: Logger;
}

/** A cancellation request. */
export interface CancelRequest {
  reason?: string | null;
  cancel_running_tasks: boolean;
  /** Who asked (for logs and the default reason). */
  by: string;
}

/** The `POST /suites/{uuid}/cancel` answer. */
export interface CancelOutcome {
  /** Ready/Pending tasks archived as Cancelled by this call. */
  cancelled_tasks: number;
  /** Tasks of the suite still running on managers (each got a CancelTask when asked). */
  running_tasks: number;
}

/**
 * Cancels `suite` and notifies its managers. Cancelling a Cancelled suite is
 * allowed (idempotent): it archives nothing new but repeats the pushes, so a
 * graceful cancel can be followed by one with `cancel_running_tasks`.
 */
export async function cancelSuiteAndNotify(
  deps: CancellationDeps,
  suite: SuiteRow,
  req: CancelRequest,
): Promise<CancelOutcome> {
  const outcome = await deps.sql.begin((tx) => cancelSuite(tx, suite));
  const reason = req.reason ?? `cancelled by ${req.by}`;
  const fields = {
    suite: suite.uuid,
    by: req.by,
    cancelled_tasks: outcome.cancelledTasks.length,
    running_tasks: outcome.runningTasks.length,
    cancel_running_tasks: req.cancel_running_tasks,
  };
  if (!outcome.changed) {
    deps.log.info("suite cancelled again", fields);
  } else {
    deps.log.info("suite state changed", {
      ...fields,
      from: TASK_SUITE_STATES[outcome.previousState],
      to: "Cancelled",
    });
  }
  const pushes: [number, CoordinatorPush][] = outcome.assignedManagerIds.map((id) => [id, {
    type: "CancelSuite",
    suite_uuid: suite.uuid,
    reason,
    cancel_running_tasks: req.cancel_running_tasks,
  }]);
  if (req.cancel_running_tasks) {
    for (const task of outcome.runningTasks) {
      if (task.assigned_manager === null) continue;
      pushes.push([task.assigned_manager, { type: "CancelTask", task_uuid: task.uuid, reason }]);
    }
  }
  await pushAll(deps, suite.uuid, pushes);
  return { cancelled_tasks: outcome.cancelledTasks.length, running_tasks: outcome.runningTasks.length };
}
