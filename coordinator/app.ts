/**
 * Composes the coordinator's HTTP application from one router per resource,
 * with the shared `{"msg"}` error mapping, a bound on waits for an
 * unreachable database (503), the URL text check and the request body
 * limits (the local blob store's signed uploads excepted from both).
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { AppDeps, AppEnv } from "./http/context.ts";
import { errorHandler, notFoundHandler } from "./http/errors.ts";
import { databaseDeadline } from "./http/database_deadline.ts";
import { bodyLimits } from "./http/body_limits.ts";
import { rejectUnstorableUrl } from "./http/url_text.ts";
import { sessionRoutes } from "./routes/session.ts";
import { userRoutes } from "./routes/users.ts";
import { groupRoutes } from "./routes/groups.ts";
import { adminRoutes } from "./routes/admin.ts";
import { adminAttachmentRoutes, attachmentRoutes } from "./routes/attachments.ts";
import { taskRoutes } from "./routes/tasks.ts";
import { workerApiRoutes } from "./routes/worker_api.ts";
import { workerRoutes } from "./routes/workers.ts";
import { suiteRoutes } from "./routes/suites.ts";
import { managerRoutes } from "./routes/managers.ts";
import { managerWsRoutes } from "./ws/server.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { httpMetrics } from "./metrics/http.ts";

/** Where the local blob store's signed URLs are served; uploads there stream unlimited by `max_request_body`. */
const BLOBS_MOUNT = "/blobs";

/** Builds the Hono application serving the REST API. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(errorHandler(deps.log, deps.database));
  app.notFound(notFoundHandler);
  // The existing coordinator allows any origin; browser dashboards rely on it.
  app.use("*", cors());
  app.use("*", httpMetrics(() => deps.metrics));
  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    deps.log.debug("request", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });
  app.use("*", databaseDeadline(deps.database, (c) => c.req.path.startsWith(`${BLOBS_MOUNT}/`)));
  app.use("*", rejectUnstorableUrl());
  app.use(
    "*",
    bodyLimits({
      maxBytes: deps.config.max_request_body,
      timeoutMs: deps.config.request_body_timeout,
      exempt: (c) => c.req.path.startsWith(`${BLOBS_MOUNT}/`),
    }),
  );
  app.route("/", sessionRoutes(deps));
  app.route("/users", userRoutes(deps));
  app.route("/groups", attachmentRoutes(deps));
  app.route("/groups", groupRoutes(deps));
  app.route("/tasks", taskRoutes(deps));
  app.route("/workers", workerApiRoutes(deps));
  app.route("/workers", workerRoutes(deps));
  app.route("/suites", suiteRoutes(deps));
  app.route("/managers", managerRoutes(deps));
  app.route("/ws/managers", managerWsRoutes(deps));
  app.route("/admin", adminAttachmentRoutes(deps));
  app.route("/admin", adminRoutes(deps));
  app.route("/metrics", metricsRoutes(deps));
  if (deps.blobs.routes) app.route(BLOBS_MOUNT, deps.blobs.routes);
  return app;
}
