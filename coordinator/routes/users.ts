/**
 * User self-service endpoints: password change and the caller's groups.
 */
import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../http/context.ts";
import { param, readJson } from "../http/validate.ts";
import { requireUser } from "../auth/middleware.ts";
import { forbidden, unauthorized } from "../../shared/errors.ts";
import { UserChangePasswordReqSchema } from "../../shared/wire/auth.ts";
import { NameSchema } from "../../shared/wire/common.ts";
import { hashPassword, verifyPassword } from "../auth/passwords.ts";
import { newSignature } from "../auth/tokens.ts";
import { getUserByName, setPassword } from "../users/store.ts";
import { groupsOfUser } from "../groups/store.ts";

/** Routes under `/users`. */
export function userRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", requireUser(deps));

  app.post("/:username/password", async (c) => {
    const username = param(c, "username", NameSchema);
    const req = await readJson(c, UserChangePasswordReqSchema);
    if (username !== c.var.user.username) throw forbidden("users may only change their own password");
    const user = await getUserByName(deps.sql, username);
    if (!(await verifyPassword(new Uint8Array(req.old_md5_password), user.encrypted_password))) {
      throw unauthorized("wrong password");
    }
    const signature = newSignature();
    await setPassword(deps.sql, user.id, await hashPassword(new Uint8Array(req.new_md5_password)), signature);
    deps.log.info("password changed", { user: username });
    return c.json({ token: await deps.keys.issue(username, signature, deps.config.access_token_expires_in) });
  });

  app.get("/groups", async (c) => c.json({ groups: await groupsOfUser(deps.sql, c.var.user.id) }));

  return app;
}
