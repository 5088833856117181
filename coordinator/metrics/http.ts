/**
 * Hono middleware counting HTTP requests by method, route and status, with
 * their latency. The route is the path as registered (`/tasks/:uuid`), so
 * the label set stays bounded; requests matching no route are `unmatched`.
 */
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { AppEnv } from "../http/context.ts";
import type { CoordinatorMetrics } from "./registry.ts";

/** Route label of requests that matched no route. */
export const UNMATCHED_ROUTE = "unmatched";

/**
 * The registered path of the route that answered: the handler that ran
 * last when it is a route, else (a middleware answered first: a body limit,
 * an authentication failure) the first route the request matched.
 */
export function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  const current = routes[c.req.routeIndex];
  if (current !== undefined && current.method !== "ALL") return current.path;
  return routes.find((r) => r.method !== "ALL")?.path ?? UNMATCHED_ROUTE;
}

/** Records every request into the metrics `metrics()` returns (read per request: tests list routes without any). */
export function httpMetrics(metrics: () => CoordinatorMetrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const startedAt = performance.now();
    await next();
    metrics().httpRequest(c.req.method, routeLabel(c), c.res.status, startedAt);
  };
}
