/**
 * `GET /metrics`: the coordinator's Prometheus metrics in the text
 * exposition format. Metrics reveal activity (task and suite counts, request
 * rates), so the request needs `Authorization: Bearer <token>` with either
 * the configured `metrics_token` (compared in constant time; needs no
 * database, so it scrapes during a database outage too) or a site admin's
 * token: no or an unknown token is 401, a user who is not a site admin 403.
 *
 * Each scrape reads the counts by state from the database (`metrics/store.ts`)
 * within `STATE_READ_DEADLINE_MS`; when that fails the other metrics are
 * still served, with `mitosis_database_up 0`.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { timingSafeEqual } from "node:crypto";
import type { AppDeps, AppEnv } from "../http/context.ts";
import { bearerToken, requireAdmin, requireUser } from "../auth/middleware.ts";
import { readStateCounts, type StateCounts } from "../metrics/store.ts";

/** Longest a scrape waits for the database's counts. */
export const STATE_READ_DEADLINE_MS = 5_000;

/** Whether `token` is the configured metrics token. */
function isMetricsToken(configured: string | undefined, token: string | null): boolean {
  if (configured === undefined || token === null) return false;
  const given = new TextEncoder().encode(token);
  const expected = new TextEncoder().encode(configured);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Lets the metrics token through; anything else must be a site admin's token. */
function requireScraper(deps: AppDeps): MiddlewareHandler<AppEnv> {
  const user = requireUser(deps);
  const admin = requireAdmin();
  return async (c, next) => {
    if (isMetricsToken(deps.config.metrics_token, bearerToken(c.req.header("Authorization")))) {
      await next();
      return;
    }
    await user(c, async () => void await admin(c, next));
  };
}

/** The counts by state, or null (logged) when the database does not give them in time. */
async function stateCounts(deps: AppDeps): Promise<StateCounts | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const reading = readStateCounts(deps.sql, STATE_READ_DEADLINE_MS);
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${STATE_READ_DEADLINE_MS} ms`)), STATE_READ_DEADLINE_MS);
  });
  try {
    return await Promise.race([reading, deadline]);
  } catch (error) {
    reading.catch(() => {/* reported below */});
    deps.log.warn("metrics: reading counts by state from the database failed", { error });
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/** The `/metrics` router (mount at `/metrics`). */
export function metricsRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", requireScraper(deps), async (c) => {
    deps.metrics.setStateCounts(await stateCounts(deps));
    const text = await deps.metrics.render();
    return c.body(text, 200, { "Content-Type": deps.metrics.contentType, "Cache-Control": "no-store" });
  });
  return app;
}
