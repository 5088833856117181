/**
 * The coordinator's route table as the Hono app lists it (`app.routes`), for
 * tests that must cover every endpoint (the auth matrix, the fuzzer). The
 * local blob store's `/blobs` routes are included.
 */
import { createApp } from "../../coordinator/app.ts";
import type { AppDeps } from "../../coordinator/http/context.ts";
import { createLocalStore } from "../../coordinator/storage/local.ts";
import { loadConfig } from "../../shared/config/load.ts";
import { coordinatorFields } from "../../shared/config/sections.ts";
import { createLogger } from "../../shared/log/logger.ts";

/** A route of the Hono app. */
export interface Route {
  method: string;
  path: string;
}

/** Every concrete method + path of the coordinator's app (middleware `ALL` entries left out). */
export async function listRoutes(): Promise<Route[]> {
  const { config } = loadConfig("coordinator", coordinatorFields, { args: [], env: { HOME: "/nonexistent" } });
  const dir = await Deno.makeTempDir({ prefix: "mitosis-routes-" });
  try {
    const blobs = await createLocalStore({
      dir,
      baseUrl: () => "http://127.0.0.1",
      buckets: { artifacts: "artifacts", attachments: "attachments" },
    });
    // Route modules only keep `deps` for later; listing needs config, a logger and the blob store's routes.
    const deps = { config, log: createLogger("routes", "off"), blobs } as unknown as AppDeps;
    const seen = new Set<string>();
    const routes: Route[] = [];
    for (const r of createApp(deps).routes) {
      if (r.method === "ALL") continue;
      const key = `${r.method} ${r.path}`;
      if (seen.has(key)) continue;
      seen.add(key);
      routes.push({ method: r.method, path: r.path });
    }
    return routes;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
