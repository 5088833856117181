/**
 * Prometheus metrics of real coordinator and manager processes (`GET
 * /metrics`, the manager's `metrics_bind`): who may read the coordinator's,
 * and that the counters, gauges and histograms of both follow the work done
 * (a suite on a manager, independent workers' tasks), read back from the
 * text format; and that the Grafana dashboard queries only metrics that
 * exist.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { spawnCoordinator, type SpawnedCoordinator } from "./support/coordinator.ts";
import { migratedDatabase } from "./support/postgres.ts";
import { call, createUser, login } from "./support/http.ts";
import { noopTask, registerWorker } from "./support/workers_api.ts";
import {
  dashboardMetricNames,
  type Exposition,
  has,
  histogramProblems,
  metricNames,
  parseExposition,
  sum,
} from "./support/prometheus.ts";
import { spawnManager } from "./support/manager.ts";
import { parseMetricsBind } from "../manager/prometheus/endpoint.ts";
import { spawnWorker } from "./support/worker.ts";
import { createSuite, eventually, getSuite, managerIdle, submit } from "./support/suites.ts";

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

/** Histograms of `exposition` whose buckets contradict their counts (none when all are sound). */
function unsoundHistograms(exposition: Exposition): string[] {
  return [...exposition.types].filter(([, type]) => type === "histogram").flatMap(([name]) =>
    histogramProblems(exposition, name)
  );
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
    assertEquals(unsoundHistograms(after), []);
  } finally {
    await coord.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

test("a suite on a manager with --metrics-bind and independent workers' tasks move both processes' metrics; the Grafana dashboard uses only metrics that exist", async () => {
  const { coord, dataDir } = await coordinatorProcess();
  const out = await Deno.makeTempDir({ prefix: "mitosis-test-metrics-out-" });
  try {
    const admin = await login(coord.url, "mitosis_admin", ADMIN_PASSWORD, true);
    const alice = await createUser(coord.url, admin, "alice", "alice-pw");
    await using manager = await spawnManager(coord.url, {
      user: "alice",
      password: "alice-pw",
      // A bare port binds loopback; 0 picks a free one, logged.
      args: ["--max-workers", "2", "--metrics-bind", "0"],
    });
    const managerUuid = await manager.waitConnected();
    const listening = await manager.waitForLog(
      (l) => l.msg === "metrics endpoint listening",
      10_000,
      "its metrics URL",
    );
    const managerMetrics = String(listening.url);
    assertTrue(managerMetrics.startsWith("http://127.0.0.1:") && managerMetrics.endsWith("/metrics"), managerMetrics);
    const other = await fetch(managerMetrics.replace(/metrics$/, "other"));
    await other.body?.cancel();
    assertEquals(other.status, 404);
    const post = await fetch(managerMetrics, { method: "POST" });
    await post.body?.cancel();
    assertEquals(post.status, 405);
    const idle = await scrape(managerMetrics);
    assertEquals(sum(idle, "mitosis_manager_workers_alive"), 0);
    assertEquals(sum(idle, "mitosis_manager_ws_connected"), 1);

    // Every task waits for the go file, so the test sees the pool busy (no clock involved).
    const tasks = 20;
    const suite = await createSuite(coord.url, alice, {
      worker_count: 2,
      env_preparation: { args: ["true"] },
      env_cleanup: { args: ["true"] },
    });
    await submit(
      coord.url,
      alice,
      suite,
      Array.from({ length: tasks }, () => ["sh", "-c", `until [ -e ${out}/go ]; do sleep 0.02; done`]),
    );
    const busy = await eventually(
      "two workers running a task each",
      async () => {
        const m = await scrape(managerMetrics);
        return sum(m, "mitosis_manager_ipc_fetch_duration_seconds_count", { result: "task" }) === 2 ? m : null;
      },
      30_000,
      50,
    );
    assertEquals(sum(busy, "mitosis_manager_workers_alive"), 2);
    assertTrue(sum(busy, "mitosis_manager_prefetch_buffered_tasks") >= 1, "tasks wait in the prefetch buffer");
    assertEquals(sum(busy, "mitosis_manager_state", { state: "Executing" }), 1);
    assertEquals(sum(busy, "mitosis_manager_worker_spawns_total", { cause: "start" }), 2);
    assertEquals(sum(busy, "mitosis_manager_hook_duration_seconds_count", { hook: "preparation" }), 1);
    const running = await scrape(`${coord.url}/metrics`, METRICS_TOKEN);
    assertEquals(sum(running, "mitosis_managers", { state: "Executing" }), 1);
    assertEquals(sum(running, "mitosis_suites", { state: "Open" }), 1);
    assertTrue(sum(running, "mitosis_tasks", { state: "Running" }) >= 2, "claimed tasks are Running");
    assertEquals(sum(running, "mitosis_ws_connections"), 1);
    await Deno.writeTextFile(`${out}/go`, "");

    await eventually(
      "the suite to complete",
      async () => (await getSuite(coord.url, alice, suite)).state_name === "Complete",
    );
    await managerIdle(coord.url, alice, managerUuid);
    await manager.waitForLog(
      (l) => l.msg === "manager state changed" && l.to === "Idle" && l.suite_uuid === suite,
      30_000,
      "Idle",
    );

    // Independent workers' tasks: claims and reports over REST.
    await using worker = await spawnWorker(coord.url, { user: "alice", password: "alice-pw" });
    const standalone = 3;
    const uuids: string[] = [];
    for (let i = 0; i < standalone; i++) {
      const res = await call(coord.url, "POST", "/tasks", { token: alice, body: noopTask("alice") });
      uuids.push((res.body as { uuid: string }).uuid);
    }
    await eventually("the worker to finish its tasks", async () => {
      for (const uuid of uuids) {
        const res = await call(coord.url, "GET", `/tasks/${uuid}`, { token: alice });
        if ((res.body as { info?: { state?: string } }).info?.state !== "Finished") return false;
      }
      return true;
    });
    assertTrue(worker.uuid !== "", "worker registered");

    const m = await scrape(managerMetrics);
    assertEquals(sum(m, "mitosis_manager_workers_alive"), 0);
    assertEquals(sum(m, "mitosis_manager_prefetch_buffered_tasks"), 0);
    assertEquals(sum(m, "mitosis_manager_state", { state: "Idle" }), 1);
    assertEquals(sum(m, "mitosis_manager_tasks_completed_total"), tasks);
    assertEquals(sum(m, "mitosis_manager_tasks_failed_total"), 0);
    assertEquals(sum(m, "mitosis_manager_ipc_fetch_duration_seconds_count", { result: "task" }), tasks);
    assertEquals(sum(m, "mitosis_manager_worker_spawns_total"), 2);
    assertEquals(sum(m, "mitosis_manager_hook_duration_seconds_count", { outcome: "succeeded" }), 2);
    assertEquals(sum(m, "mitosis_manager_hook_duration_seconds_count", { hook: "cleanup" }), 1);
    // Each task's Finish travels with its Commit as one Complete report.
    assertEquals(sum(m, "mitosis_manager_report_batch_size_sum"), tasks);
    assertEquals(
      sum(m, "mitosis_manager_report_batch_size_count"),
      sum(m, "mitosis_manager_report_batch_duration_seconds_count"),
    );
    assertEquals(sum(m, "mitosis_manager_ws_reconnects_total"), 0);
    assertTrue(sum(m, "process_resident_memory_bytes") > 10 * 2 ** 20, "manager resident memory");
    assertEquals(unsoundHistograms(m), []);

    const c = await scrape(`${coord.url}/metrics`, METRICS_TOKEN);
    assertEquals(sum(c, "mitosis_tasks_claimed_total", { path: "manager" }), tasks);
    assertEquals(sum(c, "mitosis_tasks_claimed_total", { path: "worker" }), standalone);
    assertEquals(sum(c, "mitosis_reports_total", { op: "Complete", outcome: "accepted" }), tasks);
    assertEquals(sum(c, "mitosis_reports_total", { op: "Commit", outcome: "accepted" }), standalone);
    assertEquals(sum(c, "mitosis_reports_total", { outcome: "refused" }), 0);
    assertEquals(sum(c, "mitosis_report_batch_size_sum"), sum(c, "mitosis_reports_total"));
    const fetches = sum(c, "mitosis_ws_messages_total", { direction: "received", type: "FetchTask" });
    assertTrue(fetches >= 1, "FetchTask received");
    assertEquals(sum(c, "mitosis_claim_duration_seconds_count", { path: "manager" }), fetches);
    assertEquals(sum(c, "mitosis_db_query_duration_seconds_count", { statement: "claim_suite_tasks" }), fetches);
    assertEquals(sum(c, "mitosis_ws_messages_total", { direction: "sent", type: "TaskAvailable" }), fetches);
    assertTrue(
      sum(c, "mitosis_db_query_duration_seconds_count", { statement: "manager_heartbeat" }) >= 1,
      "heartbeats",
    );
    assertEquals(sum(c, "mitosis_managers", { state: "Idle" }), 1);
    assertEquals(sum(c, "mitosis_suites", { state: "Complete" }), 1);
    assertEquals(sum(c, "mitosis_tasks", { state: "Ready" }) + sum(c, "mitosis_tasks", { state: "Running" }), 0);
    assertEquals(sum(c, "mitosis_workers", { state: "Normal" }), 1);
    assertEquals(sum(c, "mitosis_ws_connections"), 1);
    assertEquals(unsoundHistograms(c), []);

    // The dashboard: valid JSON whose every query names metrics these two processes export.
    const dashboard = JSON.parse(await Deno.readTextFile(new URL("../deploy/grafana/mitosis.json", import.meta.url)));
    const used = dashboardMetricNames(dashboard);
    const exported = new Set([...metricNames(c), ...metricNames(m)]);
    assertTrue(used.size >= 20, `the dashboard queries ${used.size} metrics`);
    assertEquals([...used].filter((name) => !exported.has(name)), [], "dashboard metrics that no process exports");
  } finally {
    await coord.stop();
    await Deno.remove(out, { recursive: true }).catch(() => {});
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

test("metrics_bind: a port alone binds loopback, HOST:PORT and [V6]:PORT as given; anything else stops the manager with status 2", async () => {
  assertEquals(parseMetricsBind("9464"), { hostname: "127.0.0.1", port: 9464 });
  assertEquals(parseMetricsBind("0.0.0.0:9464"), { hostname: "0.0.0.0", port: 9464 });
  assertEquals(parseMetricsBind("[::1]:0"), { hostname: "::1", port: 0 });
  for (const bad of ["", "host", "host:", ":9464", "host:99999", "::1:9464", "host:port"]) {
    assertEquals(parseMetricsBind(bad), null, bad);
  }
  await using manager = await spawnManager("http://127.0.0.1:9", {
    args: ["--metrics-bind", "localhost:http"],
    waitConnected: false,
  });
  assertEquals(await manager.waitExit(30_000), 2);
  assertTrue(manager.stderr().includes("manager.metrics_bind"), manager.stderr());
});
