/**
 * `/ws/managers` requests about tasks: FetchTask, ReportTask, ReportTasks,
 * ReportFailure, AbortTask, ReturnTasks and HeldTasks.
 */
import { ApiError, DATABASE_UNAVAILABLE_MESSAGE } from "../../shared/errors.ts";
import type { ManagedTask, ManagerReportOp, ValidTaskReportItem } from "../../shared/wire/manager_ws.ts";
import { TASK_SUITE_STATES } from "../../shared/wire/suites.ts";
import { type ClaimedSuiteTask, claimSuiteTasks, returnManagerTasks } from "../scheduler/suite_claim.ts";
import { abortTaskOnManager, recordTaskFailure } from "../scheduler/task_failures.ts";
import { releaseUndeclaredManagerTasks } from "../scheduler/held_tasks.ts";
import { reportSubmit, reportUpload } from "../reports/upload_submit.ts";
import type { TaskHolder } from "../reports/holder.ts";
import { isDatabaseUnavailable, isDataException } from "../db/errors.ts";
import { workerTask } from "../workers/task_view.ts";
import { ack, type ManagerMessageOf, type ManagerRequestContext, type Reply } from "./context.ts";
import { reportOp } from "../metrics/registry.ts";

/** A claimed suite task as a manager receives it: as a worker would, plus its attempt and suite. */
function managedTask(task: ClaimedSuiteTask, suiteUuid: string): ManagedTask {
  return { ...workerTask(task), attempt: task.attempt, suite_uuid: suiteUuid };
}

/**
 * FetchTask: claims up to `max_count` tasks of the manager's assigned suite.
 * Naming a suite other than the assigned one (or having none) claims
 * nothing and answers `suite_state: null`, meaning "not your suite"; the
 * manager's next heartbeat reconciles (SuiteReclaimed or SuiteAssigned).
 */
export async function fetchTasks(ctx: ManagerRequestContext, msg: ManagerMessageOf<"FetchTask">): Promise<Reply> {
  const startedAt = performance.now();
  const claim = await ctx.deps.metrics.timeQuery(
    "claim_suite_tasks",
    () => claimSuiteTasks(ctx.deps.dispatchSql, ctx.manager.id, msg.suite_uuid ?? null, msg.max_count),
  );
  const suiteUuid = claim.suite_uuid;
  const tasks = suiteUuid === null ? [] : claim.tasks.map((t) => managedTask(t, suiteUuid));
  if (tasks.length > 0) {
    ctx.log.debug("suite tasks dispatched", {
      suite: suiteUuid,
      worker_local_id: msg.worker_local_id ?? null,
      task_uuids: tasks.map((t) => t.uuid),
    });
  }
  ctx.deps.metrics.claimed("manager", tasks.length, startedAt);
  return {
    type: "TaskAvailable",
    request_id: msg.request_id,
    task: tasks[0] ?? null,
    tasks,
    suite_state: claim.suite_state === null ? null : TASK_SUITE_STATES[claim.suite_state] ?? null,
  };
}

/** The answer to one report. */
interface ReportResult {
  success: boolean;
  url: string | null;
  error: string | null;
  /** The report failed for a passing reason (the database); it may be sent again. */
  retry?: boolean;
}

/** Name of a report operation, for logs. */
function opName(op: ManagerReportOp): string {
  return typeof op === "string" ? op : Object.keys(op)[0];
}

/**
 * Applies one report of a task this manager holds (at `attempt`, when
 * named). Finish, Cancel, Commit and Complete go through the completion
 * pipeline (batched with every other report arriving meanwhile). A refusal
 * (not held, bad Submit, quota) answers `success: false` with the reason and
 * changes nothing; other failures are thrown.
 */
async function applyReport(ctx: ManagerRequestContext, item: ValidTaskReportItem): Promise<ReportResult> {
  const { deps, manager } = ctx;
  const holder: TaskHolder = { kind: "manager", id: manager.id, uuid: manager.uuid, attempt: item.attempt };
  const op = item.op;
  try {
    let url: string | null = null;
    if (op === "Finish" || op === "Cancel") {
      await deps.reports.end(holder, item.task_id, op === "Cancel");
    } else if ("Commit" in op) {
      await deps.reports.commit(holder, item.task_id, op.Commit);
    } else if ("Complete" in op) {
      await deps.reports.commit(holder, item.task_id, op.Complete);
    } else if ("Upload" in op) {
      url = await reportUpload(
        deps.sql,
        deps.blobs,
        holder,
        item.task_id,
        op.Upload.content_type,
        op.Upload.content_length,
      );
    } else {
      const uuid = await reportSubmit(deps.sql, holder, item.task_id, op.Submit);
      ctx.log.info("downstream task submitted", { task_uuid: uuid, upstream_task_id: item.task_id });
    }
    deps.metrics.report(reportOp(op), "accepted");
    return { success: true, url, error: null };
  } catch (error) {
    const refused = error instanceof ApiError || isDataException(error);
    deps.metrics.report(reportOp(op), refused ? "refused" : "failed");
    if (!(error instanceof ApiError)) throw error;
    ctx.log.info("task report refused", {
      task_id: item.task_id,
      attempt: item.attempt ?? null,
      op: opName(op),
      reason: error.message,
    });
    return { success: false, url: null, error: error.message };
  }
}

/** ReportTask: one report (see `applyReport`), answered with `TaskReportAck`. */
export async function reportTask(ctx: ManagerRequestContext, msg: ManagerMessageOf<"ReportTask">): Promise<Reply> {
  const result = await applyReport(ctx, msg);
  return { type: "TaskReportAck", request_id: msg.request_id, ...result };
}

/**
 * ReportTasks: many reports, answered together with a result each, in
 * order. The reports of one task apply one after the other, in the order
 * given; those of different tasks at once (so they share pipeline
 * batches). A report that fails for a reason other than a refusal answers
 * `retry: true` (a database value error: a final refusal) without
 * affecting the others.
 */
export async function reportTasks(ctx: ManagerRequestContext, msg: ManagerMessageOf<"ReportTasks">): Promise<Reply> {
  const results: ReportResult[] = new Array(msg.reports.length);
  const byTask = new Map<number, number[]>();
  msg.reports.forEach((item, i) => {
    const positions = byTask.get(item.task_id);
    if (positions === undefined) byTask.set(item.task_id, [i]);
    else positions.push(i);
  });
  await Promise.all([...byTask.values()].map(async (positions) => {
    for (const i of positions) results[i] = await applyGuarded(ctx, msg.reports[i]);
  }));
  return { type: "TasksReportAck", request_id: msg.request_id, results };
}

/** `applyReport`, with failures other than refusals turned into a result of their own. */
async function applyGuarded(ctx: ManagerRequestContext, item: ValidTaskReportItem): Promise<ReportResult> {
  try {
    return await applyReport(ctx, item);
  } catch (error) {
    const fields = { task_id: item.task_id, attempt: item.attempt ?? null, op: opName(item.op), error };
    if (isDataException(error)) {
      ctx.log.warn("task report refused: invalid value", fields);
      return { success: false, url: null, error: `invalid value: ${(error as Error).message}` };
    }
    if (isDatabaseUnavailable(error)) {
      // Logged once per outage by the availability tracker; the manager sends the report again.
      ctx.deps.database.failed(error, { task_id: item.task_id, op: fields.op, manager: ctx.manager.uuid });
      return { success: false, url: null, error: DATABASE_UNAVAILABLE_MESSAGE, retry: true };
    }
    ctx.log.error("task report failed", fields);
    return { success: false, url: null, error: "internal error", retry: true };
  }
}

/** ReportFailure: records a crash of the worker that ran the task. */
export async function reportFailure(
  ctx: ManagerRequestContext,
  msg: ManagerMessageOf<"ReportFailure">,
): Promise<Reply> {
  const count = await recordTaskFailure(ctx.deps.sql, ctx.manager.id, msg);
  if (count === null) {
    return ack(msg.request_id, false, `task ${msg.task_uuid} is not active or not held by this manager`);
  }
  ctx.log.warn("task failure recorded", {
    task_uuid: msg.task_uuid,
    failure_count: count,
    worker_local_id: msg.worker_local_id ?? null,
    error: msg.error_message.slice(0, 500),
  });
  return ack(msg.request_id, true);
}

/**
 * AbortTask: the manager gives up on the task; it goes back to Ready for the
 * other managers, and is archived as Cancelled once every eligible manager
 * has aborted it.
 */
export async function abortTask(ctx: ManagerRequestContext, msg: ManagerMessageOf<"AbortTask">): Promise<Reply> {
  const outcome = await abortTaskOnManager(ctx.deps.sql, ctx.manager.id, msg.task_uuid, msg.reason);
  if (!outcome.found) {
    return ack(
      msg.request_id,
      false,
      `task ${msg.task_uuid} is not an active task held by this manager or of its suite`,
    );
  }
  ctx.log.warn("task aborted on manager", {
    task_uuid: msg.task_uuid,
    suite: outcome.suite_uuid,
    returned_to_ready: outcome.returned,
    reason: msg.reason.slice(0, 500),
  });
  if (outcome.finalised) {
    ctx.log.warn("task aborted on every eligible manager; archived as Cancelled", {
      task_uuid: msg.task_uuid,
      suite: outcome.suite_uuid,
    });
  } else if (outcome.returned) {
    ctx.deps.assigner.kick();
  }
  return ack(msg.request_id, true);
}

/**
 * HeldTasks (first message of every connection): the manager declares the
 * tasks it still holds; every other task held in its name (by a process that
 * died or restarted, or claimed by a request whose reply was lost) goes back
 * to Ready at once, and assignment is kicked.
 */
export async function heldTasks(ctx: ManagerRequestContext, msg: ManagerMessageOf<"HeldTasks">): Promise<Reply> {
  const released = await releaseUndeclaredManagerTasks(ctx.deps.sql, ctx.manager.id, msg.task_uuids);
  ctx.log.info("manager declared its held tasks", {
    declared: msg.task_uuids.length,
    released: released.length,
    task_uuids: released.slice(0, 100),
  });
  if (released.length > 0) ctx.deps.assigner.kick();
  return ack(msg.request_id, true);
}

/** ReturnTasks: prefetched, unstarted tasks go back to Ready. */
export async function returnTasks(ctx: ManagerRequestContext, msg: ManagerMessageOf<"ReturnTasks">): Promise<Reply> {
  const returned = await returnManagerTasks(ctx.deps.sql, ctx.manager.id, msg.task_uuids);
  if (returned.length > 0) {
    ctx.log.info("tasks returned by manager", { count: returned.length, task_uuids: returned.slice(0, 100) });
    ctx.deps.assigner.kick();
  }
  const missing = msg.task_uuids.length - returned.length;
  return ack(
    msg.request_id,
    missing === 0,
    missing === 0 ? null : `${missing} of ${msg.task_uuids.length} tasks are not held by this manager`,
  );
}
