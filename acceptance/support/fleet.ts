/**
 * A Mitosis fleet of real processes for the performance and resource cases:
 * a coordinator process on a fresh database of the shared embedded
 * PostgreSQL (`tests/support/postgres.ts`; PL/pgSQL function statistics on),
 * a user, and `mitosis-manager` processes with managed workers
 * (`tests/support/manager.ts`), optionally the timed workers of
 * `ipc_timings.ts` and the managers' metrics; suites of no-op tasks.
 *
 * Waits honour the case's abort signal; disposing the fleet stops every
 * process it started (managers first, then the coordinator), writes their
 * logs (the tail of stderr, workers' logs included) into the case's
 * directory and removes the coordinator's data directory.
 *
 * @example
 * ```ts
 * await using fleet = await Fleet.start({ dir, log, signal });
 * const suite = await fleet.createSuite(2_000, { worker_count: 16, task_prefetch_count: 64 });
 * const [manager] = await fleet.startManagers(1, { workers: 16 });
 * await fleet.waitComplete(suite, 600_000);
 * ```
 */
import { spawnCoordinator, type SpawnedCoordinator } from "../../tests/support/coordinator.ts";
import { freshDatabase } from "../../tests/support/postgres.ts";
import { call, createUser, login } from "../../tests/support/http.ts";
import { type SpawnedManager, spawnManager } from "../../tests/support/manager.ts";
import { suiteState } from "../../scripts/bench/coordinator.ts";
import { noopTask } from "../../tests/support/workers_api.ts";
import { pause } from "../../worker/pause.ts";
import { trackFunctions } from "./database.ts";
import { IPC_TIMINGS_ENV, writeTimedWorkerScript } from "./ipc_timings.ts";
import { type Exposition, scrapeMetrics } from "./metrics.ts";
import { childPids, commandLine, type WatchedProcess } from "./sampler.ts";

/** The user owning the fleet's suites (its group has the same name). */
export const FLEET_USER = { username: "perf", password: "perf-pw" } as const;

const ADMIN_PASSWORD = "acceptance-admin";

/** Tasks per `POST /tasks/submit` when a suite is filled. */
const SUBMIT_BATCH = 1_000;

/** Where the fleet keeps its files and reports. */
export interface FleetOptions {
  /** The case's directory (logs are written there). */
  dir: string;
  log(message: string): void;
  signal: AbortSignal;
}

/** How managers are started. */
export interface ManagerOptions {
  /** `--max-workers`. */
  workers: number;
  /** Run the timed workers of `ipc_timings.ts`, writing into `<dir>/ipc-timings/<manager name>/` (default false). */
  timedWorkers?: boolean;
  /** Serve the manager's metrics on a free loopback port (`--metrics-bind`; default false). */
  metrics?: boolean;
}

/** A manager of the fleet. */
export interface FleetManager {
  /** `manager-<n>`, from 1. */
  name: string;
  uuid: string;
  pid: number;
  process: SpawnedManager;
  /** The directory of its workers' IPC timings, when they are timed. */
  timingsDir?: string;
  /** `http://127.0.0.1:<port>` of its metrics, when served. */
  metricsUrl?: string;
}

/** A loopback port free now (the kernel's pick, released at once). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Worker schedule of a suite. */
export interface Schedule {
  worker_count: number;
  task_prefetch_count?: number;
}

/** Keeps the last `bytes` of `text`. */
const tail = (text: string, bytes: number) => text.length <= bytes ? text : text.slice(text.length - bytes);

/** A running fleet. */
export class Fleet implements AsyncDisposable {
  readonly coordinator: SpawnedCoordinator;
  readonly url: string;
  readonly dbUrl: string;
  /** The user's token. */
  readonly token: string;
  /** The site admin's token (reads `/metrics`). */
  readonly adminToken: string;
  readonly managers: FleetManager[] = [];
  readonly #o: FleetOptions;
  readonly #dataDir: string;
  #timedScript: Promise<string> | undefined;
  #disposed = false;

  private constructor(
    o: FleetOptions,
    coordinator: SpawnedCoordinator,
    dbUrl: string,
    dataDir: string,
    adminToken: string,
    token: string,
  ) {
    this.#o = o;
    this.coordinator = coordinator;
    this.url = coordinator.url;
    this.dbUrl = dbUrl;
    this.#dataDir = dataDir;
    this.adminToken = adminToken;
    this.token = token;
  }

  /** Starts the coordinator (fresh database, warn-level logs) and creates the fleet's user. */
  static async start(o: FleetOptions): Promise<Fleet> {
    o.signal.throwIfAborted();
    const dbUrl = await freshDatabase();
    await trackFunctions(dbUrl);
    const dataDir = await Deno.makeTempDir({ prefix: "mitosis-acceptance-coord-" });
    let coordinator: SpawnedCoordinator | undefined;
    try {
      coordinator = await spawnCoordinator([
        "--bind",
        "127.0.0.1:0",
        "--db-url",
        dbUrl,
        "--data-dir",
        dataDir,
        "--admin-password",
        ADMIN_PASSWORD,
        "--log-level",
        "warn",
      ]);
      const admin = await login(coordinator.url, "mitosis_admin", ADMIN_PASSWORD, true);
      const token = await createUser(coordinator.url, admin, FLEET_USER.username, FLEET_USER.password);
      o.log(`coordinator ${coordinator.url} (pid ${coordinator.process.pid})`);
      return new Fleet(o, coordinator, dbUrl, dataDir, admin, token);
    } catch (error) {
      await coordinator?.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => undefined);
      throw error;
    }
  }

  /** The coordinator's pid. */
  get coordinatorPid(): number {
    return this.coordinator.process.pid;
  }

  /** The coordinator's port. */
  get port(): number {
    return Number(new URL(this.url).port);
  }

  /** PostgreSQL's port. */
  get databasePort(): number {
    return Number(new URL(this.dbUrl).port);
  }

  /**
   * Creates a suite of the fleet's user and submits `tasks` no-op tasks to it
   * (`true`, batches of 1,000); its uuid. A suite with `tags` runs only on
   * managers holding them all (`release` gives them).
   */
  async createSuite(tasks: number, schedule: Schedule, tags: string[] = []): Promise<string> {
    this.#o.signal.throwIfAborted();
    const group = FLEET_USER.username;
    const created = await call(this.url, "POST", "/suites", {
      token: this.token,
      body: { group_name: group, tags, worker_schedule: schedule },
    });
    if (created.status !== 201) throw new Error(`suite creation: ${created.status} ${created.text}`);
    const suite = (created.body as { uuid: string }).uuid;
    for (let sent = 0; sent < tasks; sent += SUBMIT_BATCH) {
      this.#o.signal.throwIfAborted();
      const batch = Array.from(
        { length: Math.min(SUBMIT_BATCH, tasks - sent) },
        () => noopTask(group, { suite_uuid: suite }),
      );
      const res = await call(this.url, "POST", "/tasks/submit", { token: this.token, body: { tasks: batch } });
      if (res.status !== 200) throw new Error(`submit: ${res.status} ${res.text}`);
    }
    return suite;
  }

  /** Gives every manager `tags` at once (`PUT /managers/{uuid}/tags`): suites needing them start on all together. */
  async release(tags: string[]): Promise<void> {
    await Promise.all(this.managers.map(async (m) => {
      const res = await call(this.url, "PUT", `/managers/${m.uuid}/tags`, { token: this.token, body: { tags } });
      if (res.status !== 200) throw new Error(`tags of ${m.name}: ${res.status} ${res.text}`);
    }));
  }

  /** Starts `count` managers at once and waits until each is connected. */
  async startManagers(count: number, options: ManagerOptions): Promise<FleetManager[]> {
    this.#o.signal.throwIfAborted();
    const script = options.timedWorkers ? await (this.#timedScript ??= writeTimedWorkerScript(this.#o.dir)) : null;
    const first = this.managers.length + 1;
    const started = await Promise.allSettled(Array.from({ length: count }, async (_, i) => {
      const name = `manager-${first + i}`;
      const timingsDir = script === null ? undefined : `${this.#o.dir}/ipc-timings/${name}`;
      if (timingsDir !== undefined) await Deno.mkdir(timingsDir, { recursive: true });
      const metricsPort = options.metrics ? freePort() : null;
      const process = await spawnManager(this.url, {
        user: FLEET_USER.username,
        password: FLEET_USER.password,
        args: [
          "--max-workers",
          String(options.workers),
          "--log-level",
          "warn",
          ...(script === null ? [] : ["--worker-binary", script]),
          ...(metricsPort === null ? [] : ["--metrics-bind", `127.0.0.1:${metricsPort}`]),
        ],
        env: timingsDir === undefined ? {} : { [IPC_TIMINGS_ENV]: timingsDir },
        waitConnected: false,
      });
      const metricsUrl = metricsPort === null ? undefined : `http://127.0.0.1:${metricsPort}`;
      const manager: FleetManager = { name, uuid: "", pid: process.process.pid, process, timingsDir, metricsUrl };
      this.managers.push(manager);
      manager.uuid = await process.waitConnected(120_000);
      return manager;
    }));
    const failed = started.find((r) => r.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    this.#o.log(`${count} manager(s) connected, ${options.workers} worker(s) each`);
    return started.map((r) => (r as PromiseFulfilledResult<FleetManager>).value);
  }

  /** Pids of the managed workers of `manager` alive now. */
  workerPids(manager: FleetManager): number[] {
    return childPids(manager.pid).filter((pid) => commandLine(pid).includes("--managed"));
  }

  /** The processes to sample: the coordinator, every manager, their managed workers. */
  watch(): WatchedProcess[] {
    const watched: WatchedProcess[] = [{ pid: this.coordinatorPid, role: "coordinator", name: "coordinator" }];
    for (const manager of this.managers) {
      watched.push({ pid: manager.pid, role: "manager", name: manager.name });
      for (const pid of this.workerPids(manager)) {
        watched.push({ pid, role: "worker", name: `${manager.name}/worker-${pid}` });
      }
    }
    return watched;
  }

  /**
   * Polls the suite every `pollMs` until it is Complete; throws after
   * `timeoutMs`, when a manager exits or on abort. `onPoll` runs at each poll.
   */
  async waitComplete(suite: string, timeoutMs: number, pollMs = 250, onPoll?: () => void): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let lastReport = performance.now();
    for (;;) {
      this.#o.signal.throwIfAborted();
      onPoll?.();
      const info = await suiteState(this.url, this.token, suite);
      if (info.state_name === "Complete") return;
      for (const manager of this.managers) {
        const code = await manager.process.waitExit(0);
        if (code !== null) throw new Error(`${manager.name} exited with ${code} during the suite`);
      }
      if (performance.now() > deadline) {
        throw new Error(`suite not Complete after ${timeoutMs} ms: ${info.state_name}, ${info.pending_tasks} pending`);
      }
      if (performance.now() - lastReport > 15_000) {
        lastReport = performance.now();
        this.#o.log(`suite ${info.state_name}, ${info.pending_tasks} tasks pending`);
      }
      await pause(pollMs, this.#o.signal);
    }
  }

  /** Waits until no manager has a managed worker left (the suite's pools are gone); throws after `timeoutMs`. */
  async waitWorkersGone(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.managers.some((m) => this.workerPids(m).length > 0)) {
      if (performance.now() > deadline) throw new Error(`managed workers still running after ${timeoutMs} ms`);
      await pause(100, this.#o.signal);
      this.#o.signal.throwIfAborted();
    }
  }

  /** The coordinator's Prometheus metrics now. */
  async metrics(): Promise<Exposition> {
    return await scrapeMetrics(this.url, this.adminToken);
  }

  /** The Prometheus metrics of `manager` now (started with `metrics: true`). */
  async managerMetrics(manager: FleetManager): Promise<Exposition> {
    if (manager.metricsUrl === undefined) throw new Error(`${manager.name} serves no metrics`);
    return await scrapeMetrics(manager.metricsUrl);
  }

  /** Tasks of the fleet's user Finished with exit status 0 (all suites). */
  async finishedOk(): Promise<number> {
    return await this.#count({ states: ["Finished"], exit_status: "= 0" });
  }

  /** Tasks whose completion `manager` reported. */
  async reportedBy(manager: FleetManager): Promise<number> {
    return await this.#count({ reporter_uuid: manager.uuid });
  }

  async #count(filter: Record<string, unknown>): Promise<number> {
    const res = await call(this.url, "POST", "/tasks/query", {
      token: this.token,
      body: { group_name: FLEET_USER.username, count: true, ...filter },
    });
    if (res.status !== 200) throw new Error(`task query: ${res.status} ${res.text}`);
    return (res.body as { count: number }).count;
  }

  /** Stops every manager (SIGTERM, SIGKILL after 30 s). */
  async stopManagers(): Promise<void> {
    await Promise.all(this.managers.map((m) => m.process.stop()));
  }

  /** Stops the coordinator (after the managers). */
  async stopCoordinator(): Promise<void> {
    await this.coordinator.stop();
  }

  /** Stops everything, keeps the logs, removes the coordinator's data dir. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    try {
      await this.stopManagers();
      for (const m of this.managers) {
        await Deno.writeTextFile(`${this.#o.dir}/${m.name}.stderr.log`, tail(m.process.stderr(), 4 << 20));
        await m.process[Symbol.asyncDispose]();
      }
    } finally {
      await this.coordinator.stop();
      await Deno.writeTextFile(`${this.#o.dir}/coordinator.stderr.log`, tail(this.coordinator.stderr(), 4 << 20))
        .catch(() => undefined);
      await Deno.remove(this.#dataDir, { recursive: true }).catch(() => undefined);
    }
  }
}
