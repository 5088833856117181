/**
 * Node managers over REST (SPEC §5.3), mounted at `/managers`: registration
 * (user token), heartbeat and token refresh (manager token), and for users:
 * queries, details, shutdown, tags, labels and group roles.
 */
import { managerResourceUrl } from "../managers/resources.ts";
import { watchedTaskView } from "../workers/task_view.ts";
import { taskForRunner } from "../tasks/runner_access.ts";
import { ManagerResourceReqSchema } from "../../shared/wire/managers.ts";
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../http/context.ts";
import { param, parseOrBadRequest, readJson } from "../http/validate.ts";
import { requireManager, requireUser } from "../auth/middleware.ts";
import { forbidden } from "../../shared/errors.ts";
import { NameSchema } from "../../shared/wire/common.ts";
import {
  ManagerHeartbeatReqSchema,
  ManagerShutdownReqSchema,
  type ManagersQueryReq,
  ManagersQueryReqSchema,
  NodeManagerStateCode,
  RegisterManagerReqSchema,
  ReplaceManagerLabelsReqSchema,
  ReplaceManagerTagsReqSchema,
  UpdateGroupManagerRoleReqSchema,
} from "../../shared/wire/managers.ts";
import { groupWithRole } from "../groups/access.ts";
import { grantableGroupRoles } from "../groups/resource_access.ts";
import { matchSuitesForManager } from "../suites/matching.ts";
import {
  getManager,
  managerListRow,
  presentManager,
  queryManagers,
  removeManagerGroups,
  setManagerGroupRoles,
  setManagerLabels,
  setManagerTags,
} from "../managers/store.ts";
import { requireManagerAccess } from "../managers/access.ts";
import { registerManager } from "../managers/registration.ts";
import { shutdownManager } from "../managers/shutdown.ts";
import { refreshManagerToken } from "../managers/token_refresh.ts";
import { recordManagerHeartbeat } from "../managers/heartbeat.ts";

const UuidSchema = z.uuid();
const GroupsQuerySchema = z.array(NameSchema).min(1, "name at least one group in ?groups=");

/** Values of a repeatable, comma-separated query parameter; undefined when none. */
function queryList(c: Context<AppEnv>, name: string): string[] | undefined {
  const values = (c.req.queries(name) ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v);
  return values.length === 0 ? undefined : values;
}

/** The `GET /managers?group_name=&state=&tags=&labels=&count=` query as a `ManagersQueryReq`. */
function queryFromSearch(c: Context<AppEnv>): unknown {
  const count = c.req.query("count");
  return {
    group_name: c.req.query("group_name"),
    state: c.req.query("state"),
    tags: queryList(c, "tags"),
    labels: queryList(c, "labels"),
    count: count === "true" || count === "1" ? true : count === "false" || count === "0" ? false : count,
  } satisfies Record<keyof ManagersQueryReq, unknown>;
}

/** Routes of node managers, mounted at `/managers`. */
export function managerRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const user = requireUser(deps);
  const manager = requireManager(deps);

  app.post("/", user, async (c) => {
    const req = await readJson(c, RegisterManagerReqSchema);
    return c.json(await registerManager(deps, c.var.user, req), 201);
  });

  app.post("/heartbeat", manager, async (c) => {
    const req = await readJson(c, ManagerHeartbeatReqSchema);
    const reply = await recordManagerHeartbeat(deps, c.var.manager, req);
    return c.json({ assigned_suite_uuid: reply.assigned_suite_uuid });
  });

  const query = async (c: Context<AppEnv>, raw: unknown, what: string) => {
    const req = parseOrBadRequest(ManagersQueryReqSchema, raw, what);
    const group = await groupWithRole(deps.sql, c.var.user, req.group_name ?? c.var.user.username, "Read");
    const rows = await queryManagers(deps.sql, {
      groupId: group.id,
      state: req.state == null ? null : NodeManagerStateCode[req.state],
      tags: req.tags,
      labels: req.labels,
    });
    return c.json({
      count: rows.length,
      managers: req.count ? [] : rows.map(presentManager),
      group_name: group.group_name,
    });
  };
  app.get("/", user, async (c) => await query(c, queryFromSearch(c), "query"));
  app.post("/query", user, async (c) => {
    const body = await readJson(c, z.unknown());
    return await query(c, body, "request body");
  });

  // Before `/:uuid`: a task's state for `watch` in managed workers (tasks it holds or of groups it serves).
  app.get("/tasks/:uuid", manager, async (c) => {
    const runner = { kind: "manager", id: c.var.manager.id } as const;
    return c.json(watchedTaskView(await taskForRunner(deps.sql, runner, param(c, "uuid", z.uuid()))));
  });

  app.get("/:uuid", user, async (c) => {
    const row = await getManager(deps.sql, param(c, "uuid", UuidSchema));
    await requireManagerAccess(deps.sql, c.var.user, row, "read");
    return c.json(presentManager(await managerListRow(deps.sql, row.id)));
  });

  app.post("/:uuid/shutdown", user, async (c) => {
    const row = await getManager(deps.sql, param(c, "uuid", UuidSchema));
    const req = await readJson(c, ManagerShutdownReqSchema);
    await requireManagerAccess(deps.sql, c.var.user, row, "admin");
    await shutdownManager(deps, row, req.op, c.var.user.username);
    return c.body(null, 200);
  });

  app.put("/:uuid/tags", user, async (c) => {
    const row = await getManager(deps.sql, param(c, "uuid", UuidSchema));
    const req = await readJson(c, ReplaceManagerTagsReqSchema);
    await requireManagerAccess(deps.sql, c.var.user, row, "write");
    const matched = await deps.sql.begin(async (tx) => {
      await setManagerTags(tx, row.id, req.tags);
      return await matchSuitesForManager(tx, row.id);
    });
    deps.assigner.kick();
    deps.log.info("manager tags replaced", { manager: row.uuid, tags: req.tags, matched_suites: matched });
    return c.body(null, 200);
  });

  app.put("/:uuid/labels", user, async (c) => {
    const row = await getManager(deps.sql, param(c, "uuid", UuidSchema));
    const req = await readJson(c, ReplaceManagerLabelsReqSchema);
    await requireManagerAccess(deps.sql, c.var.user, row, "write");
    await setManagerLabels(deps.sql, row.id, req.labels);
    deps.log.info("manager labels replaced", { manager: row.uuid, labels: req.labels });
    return c.body(null, 200);
  });

  app.put("/:uuid/groups", user, async (c) => {
    const row = await getManager(deps.sql, param(c, "uuid", UuidSchema));
    const req = await readJson(c, UpdateGroupManagerRoleReqSchema);
    await requireManagerAccess(deps.sql, c.var.user, row, "admin");
    const roles = await grantableGroupRoles(deps.sql, c.var.user, req.relations);
    const matched = await deps.sql.begin(async (tx) => {
      await setManagerGroupRoles(tx, row.id, roles);
      return await matchSuitesForManager(tx, row.id);
    });
    deps.assigner.kick();
    deps.log.info("manager group roles updated", {
      manager: row.uuid,
      relations: req.relations,
      matched_suites: matched,
    });
    return c.body(null, 200);
  });

  app.delete("/:uuid/groups", user, async (c) => {
    const row = await getManager(deps.sql, param(c, "uuid", UuidSchema));
    const groups = parseOrBadRequest(GroupsQuerySchema, queryList(c, "groups") ?? [], "query");
    await requireManagerAccess(deps.sql, c.var.user, row, "admin");
    const matched = await deps.sql.begin(async (tx) => {
      await removeManagerGroups(tx, row.id, groups);
      return await matchSuitesForManager(tx, row.id);
    });
    deps.assigner.kick();
    deps.log.info("manager group roles removed", { manager: row.uuid, groups, matched_suites: matched });
    return c.body(null, 200);
  });

  app.post("/resources", manager, async (c) => {
    const req = await readJson(c, ManagerResourceReqSchema);
    return c.json(await managerResourceUrl(deps, c.var.manager.id, req.suite_uuid, req.remote_file));
  });

  app.post("/:uuid/refresh-token", manager, async (c) => {
    const uuid = param(c, "uuid", UuidSchema);
    if (uuid.toLowerCase() !== c.var.manager.uuid.toLowerCase()) {
      throw forbidden("a manager may only refresh its own token");
    }
    return c.json({ token: await refreshManagerToken(deps, c.var.manager) });
  });

  return app;
}
