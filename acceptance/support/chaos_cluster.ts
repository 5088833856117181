/**
 * The system the chaos case runs: a dedicated embedded PostgreSQL in the
 * case's directory (restarted by the case, so never the test run's shared
 * one), two coordinators on it sharing one token key pair, a round-robin TCP
 * balancer in front of them (`balancer.ts`), node managers and independent
 * workers reaching the coordinators only through the balancer, and an
 * observer connection to the database. Every process is started from this
 * checkout's sources, tracked by pid (`tracked_processes.ts`), logs to
 * `<dir>/logs/`, and carries `CHAOS_CASE_DIR=<dir>` in its environment, which
 * its children (managed workers, tasks) inherit: whatever mentions the
 * directory once everything is stopped was left behind.
 */
import { type Balancer, startBalancer } from "./balancer.ts";
import { ProcessTracker, type TrackedProcess } from "./tracked_processes.ts";
import { type EmbeddedCluster, freePort, startEmbeddedPostgres } from "../../coordinator/db/embedded.ts";
import { connect, type Sql } from "../../coordinator/db/connect.ts";
import { createLogger } from "../../shared/log/logger.ts";
import { call, createUser, login } from "../../tests/support/http.ts";
import { sandboxEnv } from "../../tests/support/sandbox.ts";
import { describeProcesses, processesMentioning } from "../../tests/support/leftovers.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const ADMIN_PASSWORD = "chaos-admin-pw";
const DATABASE = "chaos";

/** The user whose group runs every task. */
export const CHAOS_USER = { name: "alice", password: "alice-pw" } as const;

/** A coordinator of the cluster. */
export interface CoordinatorSlot {
  index: number;
  name: string;
  port: number;
  process: TrackedProcess;
}

/** A node manager of the cluster (its process changes when restarted). */
export interface ManagerSlot {
  index: number;
  name: string;
  /** Its HOME; its `--state-dir` is `<dir>/state`. */
  dir: string;
  uuid: string;
  process: TrackedProcess;
}

/** An independent worker of the cluster. */
export interface WorkerSlot {
  /** `CHAOS_WORKER` in its tasks' environment. */
  name: string;
  uuid: string;
  process: TrackedProcess;
}

/** What to start. */
export interface ChaosClusterOptions {
  dir: string;
  managers: number;
  workersPerManager: number;
  independentWorkers: number;
  /** The coordinators' `manager_heartbeat_timeout`, seconds. */
  managerHeartbeatTimeoutS: number;
  signal: AbortSignal;
  log(message: string): void;
}

/** What stopping everything left. */
export interface StopReport {
  /** Processes that did not exit 0 on SIGTERM. */
  uncleanStops: string[];
  /** Pids still mentioning the case's directory once everything was stopped (then killed). */
  orphans: number[];
  orphanText: string;
}

/** Rejects with the abort reason once `signal` aborts; else waits `ms`. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Polls `probe` until it returns a value other than null/false; null after `timeoutMs`. */
export async function poll<T>(
  probe: () => Promise<T | null | false> | T | null | false,
  timeoutMs: number,
  signal: AbortSignal,
  everyMs = 250,
): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== false) return value;
    if (Date.now() > deadline) return null;
    await sleep(everyMs, signal);
  }
}

/** JSON log lines of a log file (unreadable lines skipped). */
export async function jsonLines(path: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return [];
  }
  return text.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** The running system; see the module comment. */
export class ChaosCluster {
  readonly dir: string;
  /** The balancer's URL: what managers, workers and the case use. */
  readonly url: string;
  readonly dbUrl: string;
  /** The observer's connection (retry its queries with `retrying`). */
  readonly sql: Sql;
  readonly coordinators: CoordinatorSlot[] = [];
  readonly managers: ManagerSlot[] = [];
  readonly workers: WorkerSlot[] = [];
  /** Tracked processes that exited without the case stopping or killing them. */
  readonly crashes: string[] = [];
  readonly tracker: ProcessTracker;
  readonly #o: ChaosClusterOptions;
  readonly #expectedExit = new Set<TrackedProcess>();
  readonly #balancer: Balancer;
  readonly #pgPort: number;
  #pg: EmbeddedCluster | undefined;
  #userToken = "";

  private constructor(o: ChaosClusterOptions, pg: EmbeddedCluster, dbUrl: string, balancer: Balancer) {
    this.#o = o;
    this.dir = o.dir;
    this.tracker = new ProcessTracker(`${o.dir}/logs`);
    this.#pg = pg;
    this.#pgPort = pg.port;
    this.dbUrl = dbUrl;
    this.sql = connect(dbUrl, 2);
    this.#balancer = balancer;
    this.url = balancer.url;
  }

  /** Starts PostgreSQL, the coordinators and the balancer; creates the user. Managers and workers come later. */
  static async start(o: ChaosClusterOptions): Promise<ChaosCluster> {
    for (const sub of ["logs", "keys", "pg", "managers", "workers", "coordinators"]) {
      await Deno.mkdir(`${o.dir}/${sub}`, { recursive: true });
    }
    // The embedded cluster runs as the postgres user when the case runs as root: it must reach its own directory.
    await Deno.chmod(`${o.dir}/pg`, 0o777);
    const pg = await startEmbeddedPostgres(`${o.dir}/pg/data`, createLogger("chaos-postgres", "warn"));
    let cluster: ChaosCluster | undefined;
    try {
      const admin = connect(pg.url, 1);
      try {
        await admin.unsafe(`CREATE DATABASE ${DATABASE}`);
      } finally {
        await admin.end();
      }
      const { generateKeyPairSync } = await import("node:crypto");
      const pair = generateKeyPairSync("ed25519", {
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
        publicKeyEncoding: { type: "spki", format: "pem" },
      });
      await Deno.writeTextFile(`${o.dir}/keys/private.pem`, pair.privateKey, { mode: 0o600 });
      await Deno.writeTextFile(`${o.dir}/keys/public.pem`, pair.publicKey);
      const ports = [freePort(), freePort()];
      const balancer = startBalancer(ports.map((port) => ({ hostname: "127.0.0.1", port })));
      cluster = new ChaosCluster(o, pg, pg.url.replace(/\/postgres$/, `/${DATABASE}`), balancer);
      for (const [index, port] of ports.entries()) {
        cluster.coordinators.push({
          index,
          name: `coordinator-${index}`,
          port,
          process: cluster.#spawnCoordinator(index, port),
        });
      }
      for (const c of cluster.coordinators) await c.process.waitForStdout(/listening on http/, 90_000, o.signal);
      const adminToken = await login(cluster.url, "mitosis_admin", ADMIN_PASSWORD, true);
      cluster.#userToken = await createUser(cluster.url, adminToken, CHAOS_USER.name, CHAOS_USER.password);
      o.log(`PostgreSQL on ${pg.port}, coordinators on ${ports.join(" and ")}, balancer ${cluster.url}`);
      return cluster;
    } catch (error) {
      if (cluster !== undefined) await cluster.dispose();
      else await pg.stop();
      throw error;
    }
  }

  /** A token of the user (retained: the daemons log in as the same user). */
  get token(): string {
    return this.#userToken;
  }

  /** Marks a process as stopped or killed on purpose. */
  expectExit(process: TrackedProcess): void {
    this.#expectedExit.add(process);
  }

  #watch(process: TrackedProcess): TrackedProcess {
    process.exited.then((code) => {
      if (this.#expectedExit.has(process)) return;
      this.crashes.push(`${process.name} exited with ${code} (see ${process.stderrPath})`);
      this.#o.log(`${process.name} exited unexpectedly with ${code}`);
    });
    return process;
  }

  /** Environment of a daemon whose HOME is `home`. */
  #env(home: string, extra: Record<string, string> = {}): Record<string, string> {
    return sandboxEnv(home, { CHAOS_CASE_DIR: this.dir, ...extra });
  }

  #spawnCoordinator(index: number, port: number): TrackedProcess {
    const home = `${this.dir}/coordinators/c${index}`;
    Deno.mkdirSync(home, { recursive: true });
    return this.#watch(this.tracker.spawn(`coordinator-${index}`, {
      args: [
        "run",
        "--allow-all",
        `${REPO}coordinator/main.ts`,
        "--bind",
        `127.0.0.1:${port}`,
        "--db-url",
        this.dbUrl,
        "--data-dir",
        home,
        "--admin-password",
        ADMIN_PASSWORD,
        "--access-token-private-path",
        `${this.dir}/keys/private.pem`,
        "--access-token-public-path",
        `${this.dir}/keys/public.pem`,
        "--manager-heartbeat-timeout",
        `${this.#o.managerHeartbeatTimeoutS}s`,
        "--log-level",
        "info",
      ],
      env: this.#env(home),
      clearEnv: true,
      cwd: home,
    }));
  }

  #spawnManager(index: number, home: string): TrackedProcess {
    return this.#watch(this.tracker.spawn(`manager-${index}`, {
      args: [
        "run",
        "--allow-all",
        "--v8-flags=--max-semi-space-size=1",
        `${REPO}manager/main.ts`,
        "--coordinator",
        this.url,
        "--state-dir",
        `${home}/state`,
        "--user",
        CHAOS_USER.name,
        "--password",
        CHAOS_USER.password,
        "--retain",
        "--max-workers",
        String(this.#o.workersPerManager),
        "--heartbeat-interval",
        "1s",
        "--reconnect-max-delay",
        "2s",
        "--log-level",
        "info",
      ],
      env: this.#env(home),
      clearEnv: true,
      cwd: home,
    }));
  }

  /** Starts the managers and the independent workers; waits until all are connected or registered. */
  async startRunners(): Promise<void> {
    for (let index = 0; index < this.#o.managers; index++) {
      const home = `${this.dir}/managers/m${index}`;
      await Deno.mkdir(home, { recursive: true });
      this.managers.push({
        index,
        name: `manager-${index}`,
        dir: home,
        uuid: "",
        process: this.#spawnManager(index, home),
      });
    }
    for (let i = 0; i < this.#o.independentWorkers; i++) {
      const name = `iw${i}`;
      const home = `${this.dir}/workers/${name}`;
      await Deno.mkdir(home, { recursive: true });
      const process = this.#watch(this.tracker.spawn(`worker-${name}`, {
        args: [
          "run",
          "--allow-all",
          `${REPO}worker/main.ts`,
          "--coordinator",
          this.url,
          "--user",
          CHAOS_USER.name,
          "--password",
          CHAOS_USER.password,
          "--retain",
          "--cache-dir",
          `${home}/cache`,
          "--polling-interval",
          "200ms",
          "--heartbeat-interval",
          "1s",
        ],
        env: this.#env(home, { CHAOS_WORKER: name }),
        clearEnv: true,
        cwd: home,
      }));
      this.workers.push({ name, uuid: "", process });
    }
    for (const m of this.managers) m.uuid = await this.#connected(m.process);
    for (const w of this.workers) {
      w.uuid = (await w.process.waitForStdout(/mitosis-worker (\S+) registered with /, 90_000, this.#o.signal))[1];
    }
  }

  async #connected(process: TrackedProcess): Promise<string> {
    return (await process.waitForStdout(/mitosis-manager (\S+) connected to /, 90_000, this.#o.signal))[1];
  }

  /** SIGKILLs manager `m` and waits for its exit. */
  async killManager(m: ManagerSlot): Promise<void> {
    this.expectExit(m.process);
    m.process.signal("SIGKILL");
    await m.process.exited;
  }

  /** Starts manager `m` again on its state dir; waits until it is connected under the same identity. */
  async restartManager(m: ManagerSlot): Promise<void> {
    m.process = this.#spawnManager(m.index, m.dir);
    const uuid = await this.#connected(m.process);
    if (uuid !== m.uuid) throw new Error(`${m.name} came back as ${uuid}, not ${m.uuid}`);
  }

  /** SIGKILLs coordinator `c`, starts it again on its port and waits until it listens. */
  async killAndRestartCoordinator(c: CoordinatorSlot): Promise<void> {
    this.expectExit(c.process);
    c.process.signal("SIGKILL");
    await c.process.exited;
    c.process = this.#spawnCoordinator(c.index, c.port);
    await c.process.waitForStdout(/listening on http/, 90_000, this.#o.signal);
  }

  /** Managers whose WebSocket session coordinator `c`'s current process holds, from its log. */
  async managersOn(c: CoordinatorSlot): Promise<string[]> {
    const held = new Set<string>();
    for (const line of await jsonLines(c.process.stderrPath)) {
      if (line.msg === "manager connected") held.add(String(line.manager));
      if (line.msg === "manager disconnected") held.delete(String(line.manager));
    }
    return [...held];
  }

  /** `pg_terminate_backend` of every other connection to the database; resolves with how many. */
  async terminateBackends(): Promise<number> {
    const killer = connect(this.dbUrl, 1);
    try {
      const rows = await killer`
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = ${DATABASE} AND pid <> pg_backend_pid()`;
      return rows.length;
    } finally {
      await killer.end({ timeout: 1 });
    }
  }

  /** Stops PostgreSQL and starts it again on the same port and data dir; resolves with when it was stopped. */
  async restartPostgres(): Promise<{ stoppedAt: number }> {
    await this.#pg!.stop();
    const stoppedAt = Date.now();
    this.#pg = undefined;
    this.#pg = await startEmbeddedPostgres(
      `${this.dir}/pg/data`,
      createLogger("chaos-postgres", "warn"),
      this.#pgPort,
    );
    return { stoppedAt };
  }

  /** Runs an observer query, again while the database is away (restarting, or its connection terminated). */
  async retrying<T>(query: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await query();
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(250, this.#o.signal);
      }
    }
  }

  /** Tasks not yet committed, suite and standalone. */
  async pendingCounts(): Promise<{ suite: number; standalone: number }> {
    const rows = await this.retrying(() =>
      this.sql<{ standalone: boolean; n: number }[]>`
        SELECT task_suite_id IS NULL AS standalone, count(*)::int AS n FROM active_tasks GROUP BY 1`
    );
    return {
      suite: rows.find((r) => !r.standalone)?.n ?? 0,
      standalone: rows.find((r) => r.standalone)?.n ?? 0,
    };
  }

  /** Time of the first commit by one of `reporters` after `after` (ms since the epoch), or null. */
  async firstCommit(reporters: string[], after: number): Promise<number | null> {
    const rows = await this.retrying(() =>
      this.sql<{ first: Date | null }[]>`
        SELECT min(updated_at) AS first FROM archived_tasks
        WHERE reporter_uuid = ANY(${reporters}::uuid[]) AND updated_at > ${new Date(after)}`
    );
    return rows[0]?.first?.getTime() ?? null;
  }

  /** `POST /tasks/submit` in batches of 500; resolves with the uuids of the accepted tasks. */
  async submit(tasks: Record<string, unknown>[]): Promise<string[]> {
    const uuids: string[] = [];
    for (let start = 0; start < tasks.length; start += 500) {
      const res = await call(this.url, "POST", "/tasks/submit", {
        token: this.#userToken,
        body: { tasks: tasks.slice(start, start + 500) },
      });
      if (res.status !== 200) throw new Error(`submission failed: ${res.status} ${res.text}`);
      for (const result of (res.body as { results: { Ok?: { uuid: string }; Err?: unknown }[] }).results) {
        if (result.Ok === undefined) throw new Error(`a task was refused: ${JSON.stringify(result.Err)}`);
        uuids.push(result.Ok.uuid);
      }
    }
    return uuids;
  }

  /**
   * Stops everything in order (managers, workers, coordinators with SIGTERM;
   * the balancer; PostgreSQL), then finds the processes still mentioning
   * the case's directory (waiting up to 10 s for exits to settle) and kills
   * them after noting them.
   */
  async stop(): Promise<StopReport> {
    await this.sql.end({ timeout: 2 }).catch(() => {});
    const uncleanStops: string[] = [];
    const stopAll = async (processes: TrackedProcess[], graceMs: number) => {
      await Promise.all(processes.map(async (p) => {
        this.expectExit(p);
        const code = await p.stop(graceMs);
        if (code !== 0) uncleanStops.push(`${p.name} exited ${code} on SIGTERM`);
      }));
    };
    await stopAll(this.managers.map((m) => m.process), 45_000);
    await stopAll(this.workers.map((w) => w.process), 20_000);
    await stopAll(this.coordinators.map((c) => c.process), 20_000);
    await this.#balancer.close();
    await this.#pg?.stop();
    this.#pg = undefined;
    const settled = await poll(() => processesMentioning(this.dir).length === 0, 10_000, this.#o.signal, 200);
    const orphans = settled === null ? processesMentioning(this.dir) : [];
    const orphanText = describeProcesses(orphans);
    for (const pid of orphans) {
      try {
        Deno.kill(pid, "SIGKILL"); // left by the case's own processes: cleaned up once counted
      } catch {
        // gone meanwhile
      }
    }
    return { uncleanStops, orphans, orphanText };
  }

  /** Emergency cleanup (abort, error): kills or stops whatever still runs. Idempotent. */
  async dispose(): Promise<void> {
    const aborted = this.#o.signal.aborted;
    const living = this.tracker.living();
    for (const p of living) this.expectExit(p);
    await Promise.all(living.map((p) => p.stop(aborted ? 0 : 5_000)));
    await this.#balancer.close();
    await this.sql.end({ timeout: 1 }).catch(() => {});
    const pg = this.#pg;
    this.#pg = undefined;
    if (pg !== undefined) await pg.stop().catch(() => pg.killSync());
  }

  /** Synchronous last resort on abort: SIGKILL every tracked process and PostgreSQL. */
  killAllSync(): void {
    this.tracker.killAll();
    this.#pg?.killSync();
  }
}
