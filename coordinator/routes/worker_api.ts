/**
 * The independent-worker API (`/workers...` with a worker token):
 * registration (user token), heartbeat, task fetch and reports, task info
 * for `watch`, resource download URLs, and unregistration. Reads by uuid are
 * limited to tasks the worker holds or of groups it serves.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv, AuthWorker } from "../http/context.ts";
import { param, readJson } from "../http/validate.ts";
import { requireUser, requireWorker, WORKER_TOKEN_SIGNATURE } from "../auth/middleware.ts";
import { parseDuration } from "../../shared/config/duration.ts";
import { ArtifactContentTypeSchema } from "../../shared/wire/tasks.ts";
import { RegisterWorkerReqSchema, ReportTaskReqSchema } from "../../shared/wire/workers.ts";
import { registrationGroupRoles } from "../groups/resource_access.ts";
import { insertWorker, removeWorkers, touchWorker, WorkerStateCode } from "../workers/store.ts";
import { claimTaskForWorker } from "../scheduler/claim.ts";
import { reportSubmit, reportUpload } from "../reports/upload_submit.ts";
import type { TaskHolder } from "../reports/holder.ts";
import { type Runner, taskForRunner } from "../tasks/runner_access.ts";
import { watchedTaskView, workerTask } from "../workers/task_view.ts";
import { artifactKey, getArtifact } from "../artifacts/store.ts";
import { downloadUrlTtlSec } from "../storage/blob_store.ts";
import { attachmentStorageKey, getAttachment } from "../attachments/store.ts";
import { AttachmentKeySchema } from "../../shared/wire/storage.ts";
import { ApiError } from "../../shared/errors.ts";
import { reportOp } from "../metrics/registry.ts";

const UuidSchema = z.uuid();

/** The worker behind a worker token, as a reader of tasks. */
const runner = (id: number): Runner => ({ kind: "worker", id });

/**
 * Applies an independent worker's report on a task it holds; resolves to
 * the upload URL (null for other reports). Refusals throw `ApiError`s.
 */
async function applyWorkerReport(
  deps: AppDeps,
  w: AuthWorker,
  req: z.output<typeof ReportTaskReqSchema>,
): Promise<string | null> {
  const holder: TaskHolder = { kind: "worker", id: w.id, uuid: w.uuid };
  const op = req.op;
  if (op === "Finish" || op === "Cancel") {
    await deps.reports.end(holder, req.id, op === "Cancel");
    return null;
  }
  if ("Upload" in op) {
    return await reportUpload(deps.sql, deps.blobs, holder, req.id, op.Upload.content_type, op.Upload.content_length);
  }
  if ("Submit" in op) {
    const uuid = await reportSubmit(deps.sql, holder, req.id, op.Submit);
    deps.log.info("downstream task submitted", { task_uuid: uuid, worker: w.uuid });
    return null;
  }
  await deps.reports.commit(holder, req.id, op.Commit);
  return null;
}

/** Routes of the worker API, mounted at `/workers`. */
export function workerApiRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const worker = requireWorker(deps);

  app.post("/", requireUser(deps), async (c) => {
    const req = await readJson(c, RegisterWorkerReqSchema);
    const user = c.var.user;
    const roles = await registrationGroupRoles(deps.sql, user, req.groups);
    const row = await insertWorker(deps.sql, user.id, req.tags, req.labels, roles);
    const lifetime = req.lifetime ? parseDuration(req.lifetime)! : deps.config.access_token_expires_in;
    const token = await deps.keys.issue(row.worker_id, WORKER_TOKEN_SIGNATURE, lifetime, "worker");
    deps.log.info("worker registered", {
      worker: row.worker_id,
      user: user.username,
      tags: row.tags,
      groups: req.groups.map((g) => `${g.group}:${g.role}`),
    });
    return c.json({ worker_id: row.worker_id, token, redis_url: null });
  });

  app.delete("/", worker, async (c) => {
    await removeWorkers(deps.sql, [c.var.worker.id]);
    deps.log.info("worker unregistered", { worker: c.var.worker.uuid });
    return c.body(null, 200);
  });

  app.post("/heartbeat", worker, async (c) => {
    await deps.metrics.timeQuery("worker_heartbeat", () => touchWorker(deps.sql, c.var.worker.id));
    return c.body(null, 200);
  });

  app.get("/tasks", worker, async (c) => {
    const startedAt = performance.now();
    const w = c.var.worker;
    if (w.state === WorkerStateCode.GracefulShutdown) return c.json(null);
    const task = await deps.metrics.timeQuery(
      "claim_worker_task",
      () => claimTaskForWorker(deps.dispatchSql, w.id, w.tags),
    );
    if (task === null) {
      await touchWorker(deps.sql, w.id);
      deps.metrics.claimed("worker", 0, startedAt);
      return c.json(null);
    }
    deps.metrics.claimed("worker", 1, startedAt);
    deps.log.info("task dispatched", { task_uuid: task.uuid, worker: w.uuid });
    return c.json(workerTask(task));
  });

  app.post("/tasks", worker, async (c) => {
    const req = await readJson(c, ReportTaskReqSchema);
    const op = reportOp(req.op);
    try {
      const url = await applyWorkerReport(deps, c.var.worker, req);
      deps.metrics.report(op, "accepted");
      return c.json({ url });
    } catch (error) {
      deps.metrics.report(op, error instanceof ApiError ? "refused" : "failed");
      throw error;
    }
  });

  app.get("/tasks/:uuid", worker, async (c) => {
    const task = await taskForRunner(deps.sql, runner(c.var.worker.id), param(c, "uuid", UuidSchema));
    return c.json(watchedTaskView(task));
  });

  app.get("/tasks/:uuid/artifacts/:content_type", worker, async (c) => {
    const uuid = param(c, "uuid", UuidSchema);
    const ct = param(c, "content_type", ArtifactContentTypeSchema);
    await taskForRunner(deps.sql, runner(c.var.worker.id), uuid);
    const row = await getArtifact(deps.sql, uuid, ct);
    const url = await deps.blobs.presignGet("artifacts", artifactKey(uuid, ct), downloadUrlTtlSec(row.size));
    return c.json({ url, size: row.size });
  });

  app.get("/tasks/:uuid/attachments/:key{.+}", worker, async (c) => {
    const task = await taskForRunner(deps.sql, runner(c.var.worker.id), param(c, "uuid", UuidSchema));
    const key = param(c, "key", AttachmentKeySchema);
    const row = await getAttachment(deps.sql, task.group_id, key);
    const url = await deps.blobs.presignGet(
      "attachments",
      attachmentStorageKey(task.group_name, key),
      downloadUrlTtlSec(row.size),
    );
    return c.json({ url, size: row.size });
  });

  return app;
}
