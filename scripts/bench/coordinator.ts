/** The coordinator every benchmark measures against: its own process, a fresh database, quiet logs. */
import { spawnCoordinator, type SpawnedCoordinator } from "../../tests/support/coordinator.ts";
import { freshDatabase } from "../../tests/support/postgres.ts";
import { call, login } from "../../tests/support/http.ts";
import { noopTask } from "../../tests/support/workers_api.ts";

/** Admin password of benchmark coordinators. */
export const BENCH_ADMIN = { username: "mitosis_admin", password: "bench" } as const;

/** A running benchmark coordinator; disposing it stops the process and removes its data dir. */
export interface BenchCoordinator extends AsyncDisposable {
  coord: SpawnedCoordinator;
  /** Admin token. */
  token: string;
  /** The admin's own group. */
  group: string;
}

/** Starts a benchmark coordinator and logs in as its admin. */
export async function startBenchCoordinator(): Promise<BenchCoordinator> {
  const dataDir = await Deno.makeTempDir({ prefix: "mitosis-bench-coord-" });
  const coord = await spawnCoordinator([
    "--bind",
    "127.0.0.1:0",
    "--db-url",
    await freshDatabase(),
    "--data-dir",
    dataDir,
    "--admin-password",
    BENCH_ADMIN.password,
    "--log-level",
    "warn",
  ]);
  const token = await login(coord.url, BENCH_ADMIN.username, BENCH_ADMIN.password, true);
  return {
    coord,
    token,
    group: BENCH_ADMIN.username,
    [Symbol.asyncDispose]: async () => {
      await coord.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => undefined);
    },
  };
}

/** Tasks per `POST /tasks/submit` when a benchmark fills a suite. */
const SUBMIT_BATCH = 1_000;

/**
 * Creates a suite of `group` with the given worker schedule and submits `count`
 * no-op tasks (`true`) to it in batches of 1,000; returns the suite's uuid.
 */
export async function createNoopSuite(
  url: string,
  token: string,
  group: string,
  count: number,
  schedule: { worker_count: number; task_prefetch_count?: number },
): Promise<string> {
  const created = await call(url, "POST", "/suites", {
    token,
    body: { group_name: group, tags: [], worker_schedule: schedule },
  });
  if (created.status !== 201) throw new Error(`suite creation: ${created.status} ${created.text}`);
  const suite = (created.body as { uuid: string }).uuid;
  for (let sent = 0; sent < count; sent += SUBMIT_BATCH) {
    const tasks = Array.from(
      { length: Math.min(SUBMIT_BATCH, count - sent) },
      () => noopTask(group, { suite_uuid: suite }),
    );
    const res = await call(url, "POST", "/tasks/submit", { token, body: { tasks } });
    if (res.status !== 200) throw new Error(`submit: ${res.status} ${res.text}`);
  }
  return suite;
}

/** The `state_name` and `pending_tasks` of a suite. */
export async function suiteState(
  url: string,
  token: string,
  suite: string,
): Promise<{ state_name: string; pending_tasks: number }> {
  const res = await call(url, "GET", `/suites/${suite}`, { token });
  if (res.status !== 200) throw new Error(`suite ${suite}: ${res.status} ${res.text}`);
  return res.body as { state_name: string; pending_tasks: number };
}
