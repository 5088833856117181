/**
 * `/ws/managers` messages about the manager and its suite: Heartbeat,
 * SuiteStarted, SuitePrepareFailed and SuiteCompleted. Suite messages are
 * accepted only from a manager assigned or linked to the suite, or holding
 * one of its tasks.
 */
import { recordManagerHeartbeat } from "../managers/heartbeat.ts";
import { managerRelatedToSuite, markSuiteStarted, releaseManagerSuite } from "../managers/suite_progress.ts";
import { ack, type ManagerMessageOf, type ManagerRequestContext, type Reply } from "./context.ts";

/**
 * The refusal of a message about a suite this manager has no standing with
 * (see `managerRelatedToSuite`), as `{reply}`; null when it may go on.
 */
async function refuseUnrelated(
  ctx: ManagerRequestContext,
  requestId: number | undefined,
  suiteUuid: string,
): Promise<{ reply: Reply } | null> {
  if (await managerRelatedToSuite(ctx.deps.sql, ctx.manager.id, suiteUuid)) return null;
  ctx.log.warn("message about a suite this manager neither holds nor serves refused", { suite: suiteUuid });
  return { reply: ack(requestId, false, `suite ${suiteUuid} is not assigned to this manager`) };
}

/**
 * Heartbeat: liveness, state, lease; reconciles the suite (SuiteReclaimed /
 * SuiteAssigned pushes). Bounded while the database does not answer (an
 * `Error` reply comes before the manager's own heartbeat timeout would drop
 * the connection).
 */
export async function heartbeat(ctx: ManagerRequestContext, msg: ManagerMessageOf<"Heartbeat">): Promise<Reply> {
  const reply = await ctx.deps.database.within(recordManagerHeartbeat(ctx.deps, ctx.manager, msg), {
    type: "Heartbeat",
    manager: ctx.manager.uuid,
  });
  return { type: "HeartbeatAck", request_id: msg.request_id ?? null, assigned_suite_uuid: reply.assigned_suite_uuid };
}

/** SuiteStarted: the manager is Executing its assigned suite; a suite not assigned to it is reclaimed. */
export async function suiteStarted(ctx: ManagerRequestContext, msg: ManagerMessageOf<"SuiteStarted">): Promise<Reply> {
  if (await markSuiteStarted(ctx.deps.sql, ctx.manager.id, msg.suite_uuid)) {
    ctx.log.info("manager started suite", { suite: msg.suite_uuid, state: "Executing" });
    return ack(msg.request_id, true);
  }
  ctx.log.warn("manager started a suite it is not assigned; reclaiming", { suite: msg.suite_uuid });
  await ctx.deps.pushes.send(ctx.manager.id, { type: "SuiteReclaimed", suite_uuid: msg.suite_uuid });
  return ack(msg.request_id, false, `suite ${msg.suite_uuid} is not assigned to this manager`);
}

/**
 * SuitePrepareFailed: the preparation hook failed. The manager is released
 * (Idle), the tasks it held go back to Ready, and the suite is not offered to
 * it again until the suite reopens.
 */
export async function suitePrepareFailed(
  ctx: ManagerRequestContext,
  msg: ManagerMessageOf<"SuitePrepareFailed">,
): Promise<Reply> {
  const refused = await refuseUnrelated(ctx, msg.request_id, msg.suite_uuid);
  if (refused) return refused.reply;
  const release = await releaseManagerSuite(ctx.deps.sql, ctx.manager.id, msg.suite_uuid, msg.error);
  if (!release.suiteExists) return ack(msg.request_id, false, `suite ${msg.suite_uuid} not found`);
  ctx.log.warn("suite preparation failed on manager; not offered to it again until the suite reopens", {
    suite: msg.suite_uuid,
    released: release.released,
    returned_tasks: release.returnedTasks.length,
    error: msg.error.slice(0, 1000),
  });
  ctx.deps.assigner.kick();
  return ack(msg.request_id, true);
}

/** SuiteCompleted: the manager is done with the suite and Idle; it (and the suite) may get other work. */
export async function suiteCompleted(
  ctx: ManagerRequestContext,
  msg: ManagerMessageOf<"SuiteCompleted">,
): Promise<Reply> {
  const refused = await refuseUnrelated(ctx, msg.request_id, msg.suite_uuid);
  if (refused) return refused.reply;
  const release = await releaseManagerSuite(ctx.deps.sql, ctx.manager.id, msg.suite_uuid, null);
  if (!release.suiteExists) return ack(msg.request_id, false, `suite ${msg.suite_uuid} not found`);
  ctx.log.info("manager completed suite", {
    suite: msg.suite_uuid,
    released: release.released,
    tasks_completed: msg.tasks_completed,
    tasks_failed: msg.tasks_failed,
    returned_tasks: release.returnedTasks.length,
    state: "Idle",
  });
  if (msg.cleanup_error) {
    ctx.log.warn("cleanup hook failed on manager", { suite: msg.suite_uuid, error: msg.cleanup_error.slice(0, 1000) });
  }
  ctx.deps.assigner.kick();
  return ack(msg.request_id, true);
}
