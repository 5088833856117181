/**
 * Prometheus metrics of a real coordinator process (`GET /metrics`): who may
 * read them, and that the counters, gauges and histograms follow the work
 * done (claims and reports of independent workers), read back from the text
 * format.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { spawnCoordinator, type SpawnedCoordinator } from "./support/coordinator.ts";
import { migratedDatabase } from "./support/postgres.ts";
import { call, createUser, login } from "./support/http.ts";
import { noopTask, registerWorker } from "./support/workers_api.ts";
import { type Exposition, has, histogramProblems, parseExposition, sum } from "./support/prometheus.ts";

const ADMIN_PASSWORD = "metrics-admin-pw";
const METRICS_TOKEN = "scraper-token-0123456789abcdef";

/** A coordinator process with a metrics token, on a fresh database. */
async function coordinatorProcess(): Promise<{ coord: SpawnedCoordinator; dataDir: string }> {
  const dataDir = await Deno.makeTempDir({ prefix: "mitosis-test-metrics-" });
  const coord = await spawnCoordinator(
    ["--bind", "127.0.0.1:0", "--db-url", await migratedDatabase(), "--data-dir", dataDir, "--log-level", "warn"],
    { MITOSIS_ADMIN_PASSWORD: ADMIN_PASSWORD, MITOSIS_METRICS_TOKEN: METRICS_TOKEN, HOME: dataDir },
  );
  return { coord, dataDir };
}

/** Scrapes `url` with `token`; fails unless it answers 200 in the text format. */
async function scrape(url: string, token?: string): Promise<Exposition> {
  const res = await fetch(url, { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  assertEquals(res.status, 200, text);
  assertTrue(res.headers.get("content-type")?.startsWith("text/plain") ?? false, "text exposition format");
  return parseExposition(text);
}

test("GET /metrics: the metrics token or a site admin's token reads it; none or another token is 401 {msg}, a user's 403", async () => {
  const { coord, dataDir } = await coordinatorProcess();
  try {
    const admin = await login(coord.url, "mitosis_admin", ADMIN_PASSWORD, true);
    const alice = await createUser(coord.url, admin, "alice");
    const worker = await registerWorker(coord.url, alice);
    const cases: [string, string | undefined, number][] = [
      ["no token", undefined, 401],
      ["a wrong metrics token", `${METRICS_TOKEN}x`, 401],
      ["a token of no kind", "not-a-token", 401],
      ["a worker's token", worker.token, 401],
      ["a user who is not a site admin", alice, 403],
    ];
    for (const [what, token, status] of cases) {
      const res = await call(coord.url, "GET", "/metrics", { token });
      assertEquals(res.status, status, `${what}: ${res.text}`);
      const body = res.body as { msg?: unknown };
      assertTrue(typeof body.msg === "string" && body.msg !== "", `${what}: {"msg"} body, got ${res.text}`);
    }
    for (const token of [METRICS_TOKEN, admin]) {
      const metrics = await scrape(`${coord.url}/metrics`, token);
      assertEquals(sum(metrics, "mitosis_database_up"), 1);
    }
  } finally {
    await coord.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

test("GET /metrics follows independent workers' claims and reports: counters, state gauges, histograms", async () => {
  const { coord, dataDir } = await coordinatorProcess();
  try {
    const admin = await login(coord.url, "mitosis_admin", ADMIN_PASSWORD, true);
    const alice = await createUser(coord.url, admin, "alice");
    const worker = await registerWorker(coord.url, alice);
    const count = 6;
    for (let i = 0; i < count; i++) {
      assertEquals((await call(coord.url, "POST", "/tasks", { token: alice, body: noopTask("alice") })).status, 200);
    }
    const before = await scrape(`${coord.url}/metrics`, METRICS_TOKEN);
    assertEquals(sum(before, "mitosis_tasks", { state: "Ready" }), count);
    assertEquals(sum(before, "mitosis_workers", { state: "Normal" }), 1);

    for (let i = 0; i < count; i++) {
      const task = await worker.fetch();
      if (task === null) throw new Error(`task ${i} was not claimed`);
      await worker.complete(task, i === 0 ? 1 : 0);
    }
    assertEquals(await worker.fetch(), null);
    // A report about a task the worker does not hold is refused (404) and counted as such.
    assertEquals((await worker.report(2 ** 31 - 1, "Finish")).status, 404);

    const after = await scrape(`${coord.url}/metrics`, METRICS_TOKEN);
    assertEquals(sum(after, "mitosis_tasks_claimed_total", { path: "worker" }), count);
    assertEquals(sum(after, "mitosis_claim_duration_seconds_count", { path: "worker" }), count + 1);
    assertEquals(sum(after, "mitosis_reports_total", { op: "Finish", outcome: "accepted" }), count);
    assertEquals(sum(after, "mitosis_reports_total", { op: "Commit", outcome: "accepted" }), count);
    assertEquals(sum(after, "mitosis_reports_total", { op: "Finish", outcome: "refused" }), 1);
    // Every pipeline report went through a batch: batch sizes add up to the reports.
    assertEquals(sum(after, "mitosis_report_batch_size_sum"), 2 * count + 1);
    assertEquals(
      sum(after, "mitosis_report_batch_duration_seconds_count"),
      sum(after, "mitosis_db_query_duration_seconds_count", { statement: "report_batch" }),
    );
    assertEquals(sum(after, "mitosis_db_query_duration_seconds_count", { statement: "claim_worker_task" }), count + 1);
    assertEquals(sum(after, "mitosis_db_queries_in_flight"), 0);
    assertEquals(sum(after, "mitosis_db_query_errors_total"), 0);
    assertEquals(sum(after, "mitosis_tasks", { state: "Ready" }), 0);
    assertEquals(sum(after, "mitosis_tasks", { state: "Running" }), 0);
    assertEquals(sum(after, "mitosis_http_requests_total", { route: "/workers/tasks", method: "GET" }), count + 1);
    assertEquals(sum(after, "mitosis_http_requests_total", { route: "/workers/tasks", status: "404" }), 1);
    assertEquals(sum(after, "mitosis_http_requests_total", { route: "/metrics", status: "200" }), 1);
    assertTrue(has(after, "mitosis_db_pool_max_connections", { pool: "dispatch" }));
    assertTrue(sum(after, "process_resident_memory_bytes") > 10 * 2 ** 20, "resident memory");
    assertTrue(sum(after, "deno_heap_used_bytes") > 0, "heap");
    for (const name of [...after.types].filter(([, type]) => type === "histogram").map(([name]) => name)) {
      assertEquals(histogramProblems(after, name), [], name);
    }
  } finally {
    await coord.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
