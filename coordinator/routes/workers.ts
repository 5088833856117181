/**
 * Worker management for users (`/workers...` with a user token): queries,
 * details, shutdown (one, by filter, by list), tags, labels and group roles.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../http/context.ts";
import { param, parseOrBadRequest, readJson } from "../http/validate.ts";
import { requireUser } from "../auth/middleware.ts";

import { type GroupWorkerRole, NameSchema } from "../../shared/wire/common.ts";
import {
  RemoveGroupWorkerRoleReqSchema,
  ReplaceWorkerLabelsReqSchema,
  ReplaceWorkerTagsReqSchema,
  UpdateGroupWorkerRoleReqSchema,
  WorkerShutdownOpSchema,
  WorkersQueryReqSchema,
  WorkersShutdownByFilterReqSchema,
  WorkersShutdownByUuidsReqSchema,
} from "../../shared/wire/workers.ts";
import { grantableGroupRoles } from "../groups/resource_access.ts";
import { groupWithRole } from "../groups/access.ts";
import {
  findWorker,
  getWorker,
  presentWorker,
  queryWorkers,
  removeWorkerGroups,
  setWorkerGroupRoles,
  setWorkerLabels,
  setWorkerTags,
  shutdownWorker,
  type WorkerFilter,
  workerGroups,
  workerListRow,
} from "../workers/store.ts";
import { requireWorkerAccess, workerAccess } from "../workers/access.ts";

const UuidSchema = z.uuid();
const GroupsQuerySchema = z.array(NameSchema).min(1, "name at least one group in ?groups=");

/** The store filter of a worker query or shutdown-by-filter request. */
function workerFilter(
  groupId: number,
  req: {
    role?: GroupWorkerRole[] | null;
    tags?: string[] | null;
    labels?: string[] | null;
    creator_username?: string | null;
  },
): WorkerFilter {
  return { groupId, roles: req.role, tags: req.tags, labels: req.labels, creatorUsername: req.creator_username };
}

/** Shuts one worker down, logging the outcome. */
async function shutdown(deps: AppDeps, uuid: string, force: boolean, by: string): Promise<void> {
  const worker = await getWorker(deps.sql, uuid);
  const removed = await shutdownWorker(deps.sql, worker, force);
  deps.log.info(removed ? "worker removed" : "worker will stop after its task", { worker: uuid, force, by });
}

/** The `?op=` of a shutdown request (default Graceful). */
function shutdownOp(c: Context<AppEnv>): boolean {
  const op = c.req.query("op");
  return op !== undefined && parseOrBadRequest(WorkerShutdownOpSchema, op, "query parameter op") === "Force";
}

/** Routes of worker management, mounted at `/workers` (and `/admin/workers`). */
export function workerRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const user = requireUser(deps);

  app.post("/query", user, async (c) => {
    const req = await readJson(c, WorkersQueryReqSchema);
    const group = await groupWithRole(deps.sql, c.var.user, req.group_name ?? c.var.user.username, "Read");
    const rows = await queryWorkers(deps.sql, workerFilter(group.id, req));
    return c.json({
      count: rows.length,
      workers: req.count ? [] : rows.map(presentWorker),
      group_name: group.group_name,
    });
  });

  app.post("/shutdown", user, async (c) => {
    const req = await readJson(c, WorkersShutdownByFilterReqSchema);
    const group = await groupWithRole(deps.sql, c.var.user, req.group_name ?? c.var.user.username, "Read");
    const rows = await queryWorkers(deps.sql, workerFilter(group.id, req));
    let count = 0;
    for (const row of rows) {
      if (await workerAccess(deps.sql, c.var.user, row) !== "admin") continue;
      await shutdownWorker(deps.sql, row, req.op === "Force");
      count++;
    }
    deps.log.info("workers shut down by filter", { group: group.group_name, count, op: req.op });
    return c.json({ shutdown_count: count, group_name: group.group_name });
  });

  app.post("/shutdown/list", user, async (c) => {
    const req = await readJson(c, WorkersShutdownByUuidsReqSchema);
    const failed: string[] = [];
    let count = 0;
    for (const uuid of req.uuids) {
      const row = await findWorker(deps.sql, uuid);
      if (row === null || await workerAccess(deps.sql, c.var.user, row) !== "admin") {
        failed.push(uuid);
        continue;
      }
      await shutdownWorker(deps.sql, row, req.op === "Force");
      count++;
    }
    deps.log.info("workers shut down by list", { count, failed: failed.length, op: req.op });
    return c.json({ shutdown_count: count, failed_uuids: failed });
  });

  app.get("/:uuid", user, async (c) => {
    const worker = await getWorker(deps.sql, param(c, "uuid", UuidSchema));
    await requireWorkerAccess(deps.sql, c.var.user, worker, "read");
    return c.json({
      info: presentWorker(await workerListRow(deps.sql, worker.id)),
      groups: await workerGroups(deps.sql, worker.id),
    });
  });

  app.delete("/:uuid", user, async (c) => {
    const uuid = param(c, "uuid", UuidSchema);
    const force = shutdownOp(c);
    await requireWorkerAccess(deps.sql, c.var.user, await getWorker(deps.sql, uuid), "admin");
    await shutdown(deps, uuid, force, c.var.user.username);
    return c.body(null, 200);
  });

  app.put("/:uuid/tags", user, async (c) => {
    const worker = await getWorker(deps.sql, param(c, "uuid", UuidSchema));
    const req = await readJson(c, ReplaceWorkerTagsReqSchema);
    await requireWorkerAccess(deps.sql, c.var.user, worker, "write");
    await setWorkerTags(deps.sql, worker.id, req.tags);
    deps.log.info("worker tags replaced", { worker: worker.worker_id, tags: req.tags });
    return c.body(null, 200);
  });

  app.put("/:uuid/labels", user, async (c) => {
    const worker = await getWorker(deps.sql, param(c, "uuid", UuidSchema));
    const req = await readJson(c, ReplaceWorkerLabelsReqSchema);
    await requireWorkerAccess(deps.sql, c.var.user, worker, "write");
    await setWorkerLabels(deps.sql, worker.id, req.labels);
    return c.body(null, 200);
  });

  app.put("/:uuid/groups", user, async (c) => {
    const worker = await getWorker(deps.sql, param(c, "uuid", UuidSchema));
    const req = await readJson(c, UpdateGroupWorkerRoleReqSchema);
    await requireWorkerAccess(deps.sql, c.var.user, worker, "admin");
    await setWorkerGroupRoles(deps.sql, worker.id, await grantableGroupRoles(deps.sql, c.var.user, req.relations));
    deps.log.info("worker group roles updated", { worker: worker.worker_id, relations: req.relations });
    return c.body(null, 200);
  });

  const removeGroups = async (c: Context<AppEnv>, groups: string[]) => {
    const worker = await getWorker(deps.sql, param(c, "uuid", UuidSchema));
    await requireWorkerAccess(deps.sql, c.var.user, worker, "admin");
    await removeWorkerGroups(deps.sql, worker.id, groups);
    deps.log.info("worker group roles removed", { worker: worker.worker_id, groups });
    return c.body(null, 200);
  };
  app.delete("/:uuid/groups", user, async (c) => {
    const raw = (c.req.queries("groups") ?? []).flatMap((v) => v.split(",")).filter((v) => v);
    return await removeGroups(c, parseOrBadRequest(GroupsQuerySchema, raw, "query"));
  });
  app.delete("/:uuid/groups/remove", user, async (c) => {
    const req = await readJson(c, RemoveGroupWorkerRoleReqSchema);
    return await removeGroups(c, req.groups);
  });

  return app;
}

/** `DELETE /admin/workers/{uuid}?op=`: admins shut down any worker. */
export function adminWorkerShutdown(deps: AppDeps) {
  return async (c: Context<AppEnv>) => {
    const uuid = param(c, "uuid", UuidSchema);
    await shutdown(deps, uuid, shutdownOp(c), c.var.user.username);
    return c.body(null, 200);
  };
}
