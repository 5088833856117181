/**
 * Coordinator lifecycle: database (configured or embedded), migrations,
 * token keys, admin bootstrap, and the HTTP server; `stop` undoes it all in
 * reverse order.
 */
import { ReportPipeline } from "./reports/pipeline.ts";
import { CoordinatorMetrics } from "./metrics/registry.ts";
import { connect, type Sql } from "./db/connect.ts";
import { DatabaseAvailability } from "./db/availability.ts";
import { type EmbeddedCluster, startEmbeddedPostgres } from "./db/embedded.ts";
import { migrate } from "./db/migrate.ts";
import { loadTokenKeys } from "./auth/tokens.ts";
import { hashPassword } from "./auth/passwords.ts";
import { newSignature } from "./auth/tokens.ts";
import { ensureAdmin } from "./users/store.ts";
import { createApp } from "./app.ts";
import type { CoordinatorConfig } from "./http/context.ts";
import type { Logger } from "../shared/log/logger.ts";
import { dataHome } from "../shared/config/load.ts";
import { md5Bytes } from "../shared/client/md5.ts";
import { createBlobStore } from "./storage/create.ts";
import { startWorkerReaper } from "./maintenance/worker_reaper.ts";
import { startCancelledSuiteSweeper } from "./maintenance/cancelled_suite_sweeper.ts";
import { startSuiteAutoClose } from "./maintenance/suite_auto_close.ts";
import { startManagerReaper } from "./maintenance/manager_reaper.ts";
import { startSuiteAssigner } from "./scheduler/assign.ts";
import { SessionRegistry } from "./ws/registry.ts";
import { startPushBus } from "./ws/push_bus.ts";

/** A running coordinator. */
export interface Coordinator {
  /** Base URL, e.g. `http://127.0.0.1:5000`. */
  readonly url: string;
  readonly port: number;
  readonly sql: Sql;
  readonly shutdownSecret: string;
  /** Resolves once the coordinator has fully stopped. */
  readonly finished: Promise<void>;
  /** Stops serving, closes the database and the embedded cluster. Idempotent. */
  stop(reason?: string): Promise<void>;
  /** Kills the embedded PostgreSQL synchronously (last-resort exit path). */
  killSync(): void;
}

/** Splits `host:port` (or `[v6]:port`) into its parts. */
export function parseBind(bind: string): { hostname: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(bind);
  if (!match || Number(match[2]) > 65535) throw new Error(`bind "${bind}" is not host:port`);
  return { hostname: match[1] || "0.0.0.0", port: Number(match[2]) };
}

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The coordinator's state directory: `data_dir`, else `$XDG_DATA_HOME/mitosis`. */
export function coordinatorDataDir(
  config: Pick<CoordinatorConfig, "data_dir">,
  env: Record<string, string> = Deno.env.toObject(),
): string {
  return config.data_dir ?? `${dataHome(env)}/mitosis`;
}

/** Starts a coordinator with `config`; rejects if any start step fails. */
export async function startCoordinator(config: CoordinatorConfig, log: Logger): Promise<Coordinator> {
  const dataDir = coordinatorDataDir(config);
  const { hostname, port } = parseBind(config.bind);
  let cluster: EmbeddedCluster | undefined;
  let dbUrl = config.db_url;
  if (dbUrl === undefined) {
    cluster = await startEmbeddedPostgres(`${dataDir}/pg`, log);
    dbUrl = cluster.url;
    log.info("using embedded PostgreSQL", { data_dir: `${dataDir}/pg`, port: cluster.port });
  }
  const sql = connect(dbUrl);
  const dispatchSql = connect(dbUrl, { max: 4, asyncCommit: true });
  // Probes of the database's reachability, on a connection of their own (not queued behind busy pools).
  const probeSql = connect(dbUrl, { max: 1, connectTimeoutS: 3, applicationName: "mitosis-coordinator-probe" });
  const database = new DatabaseAvailability({
    probe: async () => (await probeSql<{ now: Date }[]>`SELECT now()`)[0].now,
    log,
  });
  const closePools = (timeout: number) =>
    Promise.all([sql.end({ timeout }), dispatchSql.end({ timeout }), probeSql.end({ timeout })]);
  try {
    await migrate(sql, log);
    const keys = await loadTokenKeys(
      config.access_token_private_path ?? `${dataDir}/private.pem`,
      config.access_token_public_path ?? `${dataDir}/public.pem`,
      log,
    );
    const created = await ensureAdmin(sql, {
      username: config.admin_user,
      passwordHash: await hashPassword(md5Bytes(config.admin_password)),
      admin: true,
      signature: newSignature(),
    });
    if (created) log.info("admin user created", { user: config.admin_user });
    if (config.admin_user === "mitosis_admin" && config.admin_password === "mitosis_admin") {
      log.warn("the admin account uses the default password; set admin_password before exposing this coordinator", {
        user: config.admin_user,
      });
    }
    let publicUrl = config.public_url?.replace(/\/+$/, "") ?? "";
    const blobs = await createBlobStore(config, dataDir, () => publicUrl);
    await blobs.init();
    log.info("blob store ready", { kind: blobs.kind });
    const sessions = new SessionRegistry();
    const pushes = await startPushBus(sql, sessions, log);
    const assigner = await startSuiteAssigner({
      sql,
      sessions,
      pushes,
      log,
      leaseMs: config.manager_heartbeat_timeout,
      database,
    });
    const shutdownSecret = config.shutdown_secret ?? randomSecret();
    if (config.shutdown_secret === undefined) log.warn("shutdown secret generated", { secret: shutdownSecret });

    let stopping: Promise<void> | undefined;
    let resolveFinished: () => void = () => {};
    const finished = new Promise<void>((resolve) => (resolveFinished = resolve));
    const stop = (reason = "stop requested"): Promise<void> => {
      stopping ??= (async () => {
        log.info("coordinator stopping", { reason });
        await Promise.all(services.map((s) => s.stop()));
        sessions.closeAll("coordinator shutting down");
        await pushes.stop();
        await server.shutdown();
        await reports.drain();
        await database.stop();
        await closePools(5);
        if (cluster) await cluster.stop();
        log.info("coordinator stopped");
        resolveFinished();
      })();
      return stopping;
    };

    const metrics = new CoordinatorMetrics({
      pools: { main: sql, dispatch: dispatchSql },
      wsConnections: () => sessions.managerIds().length,
    });
    const reports = new ReportPipeline(sql, log, { metrics });
    const app = createApp({
      sql,
      dispatchSql,
      reports,
      keys,
      blobs,
      pushes,
      sessions,
      metrics,
      assigner,
      database,
      config,
      log,
      shutdownSecret,
      requestShutdown: (reason) => void stop(reason),
    });
    let resolveListening: (port: number) => void = () => {};
    const listening = new Promise<number>((resolve) => (resolveListening = resolve));
    const server = Deno.serve(
      { hostname, port, onListen: (addr) => resolveListening(addr.port) },
      (req, info) => app.fetch(req, { remoteAddr: info.remoteAddr }),
    );
    const boundPort = await listening;
    // Heartbeat clocks start now (database time), not at the last heartbeat written before an outage: managers
    // and workers get a full timeout to reconnect, and the results they report meanwhile are accepted. They
    // stop during a database outage (heartbeats fail then) and start again when it ends.
    const [{ now: startedAt }] = await sql<{ now: Date }[]>`SELECT now()`;
    const clockStart = () => {
      if (!database.reachable) return null;
      const resumedAt = database.resumedAt;
      return resumedAt !== null && resumedAt > startedAt ? resumedAt : startedAt;
    };
    const services = [
      startWorkerReaper(sql, config.heartbeat_timeout, log, clockStart, database),
      startSuiteAutoClose(sql, { idleMs: config.suite_auto_close }, log, database),
      assigner,
      startManagerReaper(sql, config.manager_heartbeat_timeout, log, clockStart, () => assigner.kick(), database),
      startCancelledSuiteSweeper(sql, 5_000, log, database),
    ];
    const shownHost = hostname.includes(":") ? `[${hostname}]` : hostname === "0.0.0.0" ? "127.0.0.1" : hostname;
    const url = `http://${shownHost}:${boundPort}`;
    if (publicUrl === "") publicUrl = url;
    log.info("coordinator listening", { url, bind: config.bind });
    return { url, port: boundPort, sql, shutdownSecret, finished, stop, killSync: () => cluster?.killSync() };
  } catch (error) {
    await database.stop();
    await closePools(1);
    if (cluster) await cluster.stop();
    throw error;
  }
}
