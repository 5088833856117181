/**
 * Group endpoints: creation, details, and membership management (group
 * Admins and site admins).
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../http/context.ts";
import { param, parseOrBadRequest, readJson } from "../http/validate.ts";
import { requireUser } from "../auth/middleware.ts";
import { forbidden } from "../../shared/errors.ts";
import { NameSchema } from "../../shared/wire/common.ts";
import {
  CreateGroupReqSchema,
  RemoveUserGroupRoleReqSchema,
  UpdateUserGroupRoleReqSchema,
} from "../../shared/wire/groups.ts";
import {
  createGroup,
  getGroupByName,
  groupInfo,
  type GroupRow,
  removeMembers,
  roleInGroup,
  setMemberRoles,
} from "../groups/store.ts";
import type { Context } from "hono";

/** Loads the group named in the path and checks the caller is one of its Admins (or a site admin). */
async function adminGroup(deps: AppDeps, c: Context<AppEnv>): Promise<GroupRow> {
  const group = await getGroupByName(deps.sql, param(c, "group_name", NameSchema));
  if (!c.var.user.admin && await roleInGroup(deps.sql, c.var.user.id, group.id) !== "Admin") {
    throw forbidden(`Admin role in group ${group.group_name} required`);
  }
  return group;
}

const UsersQuerySchema = z.array(NameSchema).min(1, "name at least one user in ?users=");

/** Routes under `/groups`. */
export function groupRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", requireUser(deps));

  app.post("/", async (c) => {
    const req = await readJson(c, CreateGroupReqSchema);
    await createGroup(deps.sql, c.var.user.id, req.group_name);
    deps.log.info("group created", { group: req.group_name, user: c.var.user.username });
    return c.body(null, 200);
  });

  app.get("/:group_name", async (c) => {
    const group = await getGroupByName(deps.sql, param(c, "group_name", NameSchema));
    const role = await roleInGroup(deps.sql, c.var.user.id, group.id);
    if (role === null && !c.var.user.admin) throw forbidden(`not a member of group ${group.group_name}`);
    return c.json(await groupInfo(deps.sql, group, role === "Admin" || c.var.user.admin));
  });

  app.put("/:group_name/users", async (c) => {
    const group = await adminGroup(deps, c);
    const req = await readJson(c, UpdateUserGroupRoleReqSchema);
    await setMemberRoles(deps.sql, group, req.relations);
    deps.log.info("group roles updated", { group: group.group_name, relations: req.relations });
    return c.body(null, 200);
  });

  app.delete("/:group_name/users", async (c) => {
    const group = await adminGroup(deps, c);
    const raw = c.req.queries("users") ?? [];
    const names = parseOrBadRequest(UsersQuerySchema, raw.flatMap((v) => v.split(",")).filter((v) => v), "query");
    await removeMembers(deps.sql, group, names);
    deps.log.info("users removed from group", { group: group.group_name, users: names });
    return c.body(null, 200);
  });

  app.post("/:group_name/users/remove", async (c) => {
    const group = await adminGroup(deps, c);
    const req = await readJson(c, RemoveUserGroupRoleReqSchema);
    await removeMembers(deps.sql, group, req.users);
    deps.log.info("users removed from group", { group: group.group_name, users: req.users });
    return c.body(null, 200);
  });

  return app;
}
