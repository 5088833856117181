/**
 * Task endpoints for users: submission (single and batch), queries, changes,
 * labels and cancellation. Artifact endpoints under `/tasks` are added by
 * `artifactRoutes` on the same router.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../http/context.ts";
import { describeIssues, param, readJson } from "../http/validate.ts";
import { requireUser } from "../auth/middleware.ts";
import { ApiError } from "../../shared/errors.ts";
import {
  ChangeTaskReqSchema,
  SubmitTaskReqSchema,
  type SubmitTaskResp,
  TasksCancelByFilterReqSchema,
  TasksCancelByUuidsReqSchema,
  TasksQueryReqSchema,
  TasksSubmitReqSchema,
  type TaskSubmitResult,
  UpdateTaskLabelsReqSchema,
} from "../../shared/wire/tasks.ts";
import { type GroupRef, groupWithRole, requireRole } from "../groups/access.ts";
import {
  cancelReadyTasks,
  changeReadyTask,
  countTasks,
  getTask,
  insertTasks,
  type NewTask,
  queryTasks,
  readyTaskUuids,
  replaceLabels,
  timeoutSeconds,
} from "../tasks/store.ts";
import { presentTask } from "../tasks/rows.ts";
import { listArtifacts } from "../artifacts/store.ts";
import { artifactRoutes } from "./artifacts.ts";
import { resolveSubmission } from "../tasks/submission.ts";

const UuidSchema = z.uuid();

/** The group reference of a task, for permission checks. */
export const taskGroup = (task: { group_id: number; group_name: string }): GroupRef => ({
  id: task.group_id,
  group_name: task.group_name,
});

/** Routes under `/tasks`. */
export function taskRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", requireUser(deps));

  app.post("/", async (c) => {
    const req = await readJson(c, SubmitTaskReqSchema);
    const task = await resolveSubmission(deps.sql, c.var.user, req);
    const [created] = await insertTasks(deps.sql, [task]);
    if (task.suiteId) deps.assigner.kick();
    deps.log.info("task submitted", {
      task_uuid: created.uuid,
      group: req.group_name,
      suite: req.suite_uuid ?? null,
      user: c.var.user.username,
    });
    return c.json(created);
  });

  app.post("/submit", async (c) => {
    const batch = await readJson(c, TasksSubmitReqSchema);
    const results: (TaskSubmitResult | null)[] = batch.tasks.map(() => null);
    // Items naming the same group and suite share one permission check.
    const resolved = new Map<string, NewTask | ApiError>();
    const accepted: { index: number; task: NewTask }[] = [];
    for (const [index, item] of batch.tasks.entries()) {
      const parsed = SubmitTaskReqSchema.safeParse(item);
      if (!parsed.success) {
        results[index] = { Err: { msg: `invalid task: ${describeIssues(parsed.error)}` } };
        continue;
      }
      const key = `${parsed.data.group_name}\u0000${parsed.data.suite_uuid ?? ""}`;
      let target = resolved.get(key);
      if (target === undefined) {
        try {
          target = await resolveSubmission(deps.sql, c.var.user, parsed.data);
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          target = error;
        }
        resolved.set(key, target);
      }
      if (target instanceof ApiError) {
        results[index] = { Err: { msg: target.message } };
        continue;
      }
      const req = target.suiteId ? { ...parsed.data, tags: target.req.tags } : parsed.data;
      accepted.push({ index, task: { ...target, req } });
    }
    const created: SubmitTaskResp[] = await insertTasks(deps.sql, accepted.map((a) => a.task));
    if (accepted.some((a) => a.task.suiteId)) deps.assigner.kick();
    accepted.forEach((a, i) => (results[a.index] = { Ok: created[i] }));
    deps.log.info("tasks submitted", {
      user: c.var.user.username,
      accepted: accepted.length,
      rejected: batch.tasks.length - accepted.length,
    });
    return c.json({ results });
  });

  app.post("/query", async (c) => {
    const req = await readJson(c, TasksQueryReqSchema);
    const groupName = req.group_name ?? c.var.user.username;
    const group = await groupWithRole(deps.sql, c.var.user, groupName, "Read");
    if (req.count) {
      return c.json({ count: await countTasks(deps.sql, group.id, req), tasks: [], group_name: group.group_name });
    }
    const rows = await queryTasks(deps.sql, group.id, req, req);
    return c.json({ count: rows.length, tasks: rows.map(presentTask), group_name: group.group_name });
  });

  app.post("/cancel", async (c) => {
    const req = await readJson(c, TasksCancelByFilterReqSchema);
    const groupName = req.group_name ?? c.var.user.username;
    const group = await groupWithRole(deps.sql, c.var.user, groupName, "Write");
    const cancelled = await deps.sql.begin(async (tx) =>
      await cancelReadyTasks(tx, await readyTaskUuids(tx, group.id, req), [group.id])
    );
    deps.log.info("tasks cancelled by filter", { group: group.group_name, count: cancelled.length });
    return c.json({ cancelled_count: cancelled.length, group_name: group.group_name });
  });

  app.post("/cancel/list", async (c) => {
    const req = await readJson(c, TasksCancelByUuidsReqSchema);
    const writable = await deps.sql<{ id: number }[]>`
      SELECT ug.group_id AS id FROM user_group ug WHERE ug.user_id = ${c.var.user.id} AND ug.role >= 1`;
    const groupIds = c.var.user.admin ? null : writable.map((r) => r.id);
    const cancelled = new Set(await cancelReadyTasks(deps.sql, req.uuids, groupIds));
    deps.log.info("tasks cancelled by list", { user: c.var.user.username, count: cancelled.size });
    return c.json({
      cancelled_count: cancelled.size,
      failed_uuids: req.uuids.filter((u) => !cancelled.has(u)),
    });
  });

  // Artifact routes share the prefix; register them before `/:uuid` patterns.
  artifactRoutes(app, deps);

  app.get("/:uuid", async (c) => {
    const task = await getTask(deps.sql, param(c, "uuid", UuidSchema));
    await requireRole(deps.sql, c.var.user, taskGroup(task), "Read");
    return c.json({ info: presentTask(task), artifacts: await listArtifacts(deps.sql, task.uuid) });
  });

  app.put("/:uuid", async (c) => {
    const uuid = param(c, "uuid", UuidSchema);
    const req = await readJson(c, ChangeTaskReqSchema);
    const task = await getTask(deps.sql, uuid);
    await requireRole(deps.sql, c.var.user, taskGroup(task), "Write");
    await changeReadyTask(deps.sql, uuid, {
      tags: req.tags ?? undefined,
      timeoutSec: req.timeout ? timeoutSeconds(req.timeout) : undefined,
      priority: req.priority ?? undefined,
      spec: req.task_spec ?? undefined,
    });
    deps.log.info("task changed", { task_uuid: uuid, user: c.var.user.username });
    return c.body(null, 200);
  });

  app.put("/:uuid/labels", async (c) => {
    const uuid = param(c, "uuid", UuidSchema);
    const req = await readJson(c, UpdateTaskLabelsReqSchema);
    const task = await getTask(deps.sql, uuid);
    await requireRole(deps.sql, c.var.user, taskGroup(task), "Write");
    await replaceLabels(deps.sql, uuid, req.labels);
    return c.body(null, 200);
  });

  const cancelOne = async (c: Context<AppEnv>) => {
    const uuid = param(c, "uuid", UuidSchema);
    const task = await getTask(deps.sql, uuid);
    await requireRole(deps.sql, c.var.user, taskGroup(task), "Write");
    const cancelled = await cancelReadyTasks(deps.sql, [uuid], [task.group_id]);
    if (cancelled.length === 0) {
      throw new ApiError("NotFound", `task ${uuid} is not Ready (only Ready tasks can be cancelled)`);
    }
    deps.log.info("task cancelled", { task_uuid: uuid, user: c.var.user.username });
    return c.body(null, 200);
  };
  app.delete("/:uuid", cancelOne);
  app.post("/:uuid/cancel", cancelOne);

  return app;
}
