/**
 * Admin endpoints: user lifecycle, quotas, and coordinator shutdown.
 */
import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../http/context.ts";
import { param, readJson } from "../http/validate.ts";
import { requireAdmin, requireUser } from "../auth/middleware.ts";
import { badRequest, forbidden } from "../../shared/errors.ts";
import { NameSchema } from "../../shared/wire/common.ts";
import {
  AdminChangePasswordReqSchema,
  ChangeGroupStorageQuotaReqSchema,
  ChangeUserGroupQuotaSchema,
  ChangeUserStateReqSchema,
  CreateUserReqSchema,
  ShutdownReqSchema,
} from "../../shared/wire/admin.ts";
import { hashPassword } from "../auth/passwords.ts";
import { newSignature } from "../auth/tokens.ts";
import { changeGroupQuota, createUserWithGroup, getUserByName, setPassword, setUserState } from "../users/store.ts";
import { changeStorageQuota } from "../groups/store.ts";
import { parseCount, parseQuotaChange, parseSize } from "../../shared/config/size.ts";
import { timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { ArtifactContentTypeSchema } from "../../shared/wire/tasks.ts";
import { getTask } from "../tasks/store.ts";
import { deleteArtifact } from "./artifacts.ts";
import { adminWorkerShutdown } from "./workers.ts";

/** Routes under `/admin`. */
export function adminRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", requireUser(deps), requireAdmin());

  app.post("/users", async (c) => {
    const req = await readJson(c, CreateUserReqSchema);
    await createUserWithGroup(deps.sql, {
      username: req.username,
      passwordHash: await hashPassword(new Uint8Array(req.md5_password)),
      admin: req.admin,
      signature: newSignature(),
    });
    deps.log.info("user created", { user: req.username, admin: req.admin, by: c.var.user.username });
    return c.body(null, 200);
  });

  app.delete("/users/:username", async (c) => {
    const username = param(c, "username", NameSchema);
    const state = await setUserState(deps.sql, username, "Deleted");
    deps.log.info("user deleted", { user: username, by: c.var.user.username });
    return c.json({ state });
  });

  app.post("/users/:username/password", async (c) => {
    const username = param(c, "username", NameSchema);
    const req = await readJson(c, AdminChangePasswordReqSchema);
    const user = await getUserByName(deps.sql, username);
    await setPassword(deps.sql, user.id, await hashPassword(new Uint8Array(req.new_md5_password)), newSignature());
    deps.log.info("password reset by admin", { user: username, by: c.var.user.username });
    return c.body(null, 200);
  });

  app.post("/users/:username/group-quota", async (c) => {
    const username = param(c, "username", NameSchema);
    const req = await readJson(c, ChangeUserGroupQuotaSchema);
    const change = parseQuotaChange(req.group_quota, parseCount);
    if (change === null) throw badRequest(`invalid group_quota "${req.group_quota}": expected N, +N, -N or =N`);
    const quota = await changeGroupQuota(deps.sql, username, change);
    deps.log.info("group quota changed", { user: username, group_quota: quota, by: c.var.user.username });
    return c.json({ group_quota: quota });
  });

  app.post("/users/:username/state", async (c) => {
    const username = param(c, "username", NameSchema);
    const req = await readJson(c, ChangeUserStateReqSchema);
    const state = await setUserState(deps.sql, username, req.state);
    deps.log.info("user state changed", { user: username, state, by: c.var.user.username });
    return c.json({ state });
  });

  app.post("/groups/:group_name/storage-quota", async (c) => {
    const group = param(c, "group_name", NameSchema);
    const req = await readJson(c, ChangeGroupStorageQuotaReqSchema);
    const change = parseQuotaChange(req.storage_quota, parseSize);
    if (change === null) {
      throw badRequest(
        `invalid storage_quota "${req.storage_quota}": expected a size such as 10GB, +5GB, -1GB or =100MB`,
      );
    }
    const quota = await changeStorageQuota(deps.sql, group, change);
    deps.log.info("storage quota changed", { group, storage_quota: quota, by: c.var.user.username });
    return c.json({ storage_quota: quota });
  });

  app.delete("/tasks/:uuid/artifacts/:content_type", async (c) => {
    const task = await getTask(deps.sql, param(c, "uuid", z.uuid()));
    await deleteArtifact(deps, task, param(c, "content_type", ArtifactContentTypeSchema), true);
    return c.body(null, 200);
  });

  // The reference OpenAPI spells this path with a trailing slash; accept both.
  app.delete("/workers/:uuid", adminWorkerShutdown(deps));
  app.delete("/workers/:uuid/", adminWorkerShutdown(deps));

  app.post("/shutdown", async (c) => {
    const req = await readJson(c, ShutdownReqSchema);
    const given = new TextEncoder().encode(req.secret);
    const expected = new TextEncoder().encode(deps.shutdownSecret);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw forbidden("wrong shutdown secret");
    }
    deps.log.warn("shutdown requested", { by: c.var.user.username });
    deps.requestShutdown(`POST /admin/shutdown by ${c.var.user.username}`);
    return c.body(null, 200);
  });

  return app;
}
