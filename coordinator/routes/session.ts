/**
 * Public and session endpoints: `/health`, `/login`, `/auth`, `/redis`.
 */
import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../http/context.ts";
import { readJson } from "../http/validate.ts";
import { requireUser } from "../auth/middleware.ts";
import { forbidden, unauthorized } from "../../shared/errors.ts";
import { UserLoginReqSchema } from "../../shared/wire/auth.ts";
import { verifyPassword } from "../auth/passwords.ts";
import { newSignature } from "../auth/tokens.ts";
import { findUserByName, recordSignIn } from "../users/store.ts";

/** Client address as seen by the server (no proxy headers are trusted). */
function remoteAddress(c: { env: unknown }): string | null {
  const info = (c.env as { remoteAddr?: Deno.NetAddr } | undefined)?.remoteAddr;
  return info?.hostname ?? null;
}

/** Routes for health, login and the caller's identity. */
export function sessionRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/health", (c) => c.json({ status: "ok" }));

  app.post("/login", async (c) => {
    const req = await readJson(c, UserLoginReqSchema);
    const user = await findUserByName(deps.sql, req.username);
    if (user === null || !(await verifyPassword(new Uint8Array(req.md5_password), user.encrypted_password))) {
      throw unauthorized("wrong username or password");
    }
    if (user.state !== 0) throw forbidden(`user ${user.username} is ${user.state === 1 ? "locked" : "deleted"}`);
    const signature = req.retain ? user.auth_signature : newSignature();
    await recordSignIn(deps.sql, user.id, signature, remoteAddress(c));
    const token = await deps.keys.issue(user.username, signature, deps.config.access_token_expires_in);
    deps.log.info("user logged in", { user: user.username, retain: req.retain });
    return c.json({ token });
  });

  app.get("/auth", requireUser(deps), (c) => c.text(c.var.user.username));

  app.get("/redis", requireUser(deps), (c) => c.json({ url: null }));

  return app;
}
