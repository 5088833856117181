/**
 * Public and session endpoints: `/health`, `/login`, `/auth`, `/redis`.
 * `/login` is throttled per user name and client address (see
 * `auth/login_throttle.ts`) and costs one scrypt whether or not the user
 * exists.
 */
import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../http/context.ts";
import { readJson } from "../http/validate.ts";
import { requireUser } from "../auth/middleware.ts";
import { forbidden, unauthorized } from "../../shared/errors.ts";
import { UserLoginReqSchema } from "../../shared/wire/auth.ts";
import { verifyAgainstDummy, verifyPassword } from "../auth/passwords.ts";
import { LoginThrottle } from "../auth/login_throttle.ts";
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

  const throttle = new LoginThrottle({
    maxFailures: deps.config.login_max_failures,
    windowMs: deps.config.login_failure_window,
  });

  app.post("/login", async (c) => {
    const req = await readJson(c, UserLoginReqSchema);
    const address = remoteAddress(c);
    const wait = throttle.retryAfterSeconds(req.username, address);
    if (wait > 0) {
      deps.log.warn("login throttled", { user: req.username, remote: address, retry_after_s: wait });
      c.header("Retry-After", String(wait));
      return c.json({ msg: `too many failed logins: try again in ${wait} s` }, 429);
    }
    const user = await findUserByName(deps.sql, req.username);
    const md5 = new Uint8Array(req.md5_password);
    const valid = user === null ? await verifyAgainstDummy(md5) : await verifyPassword(md5, user.encrypted_password);
    if (user === null || !valid) {
      throttle.recordFailure(req.username, address);
      deps.log.info("login failed", { user: req.username, remote: address });
      throw unauthorized("wrong username or password");
    }
    throttle.recordSuccess(req.username);
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
