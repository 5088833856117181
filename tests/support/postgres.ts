/**
 * One embedded PostgreSQL per test run, started on first use on a random
 * port in a temporary directory, killed when the test process exits. Each
 * test gets its own fresh database on it: an empty one (`freshDatabase`), or
 * one already holding the coordinator's schema (`migratedDatabase`, for test
 * coordinators).
 */
import { type EmbeddedCluster, startEmbeddedPostgres } from "../../coordinator/db/embedded.ts";
import { connect } from "../../coordinator/db/connect.ts";
import { migrate } from "../../coordinator/db/migrate.ts";
import { createLogger } from "../../shared/log/logger.ts";

let cluster: Promise<EmbeddedCluster> | undefined;
let baseDir: string | undefined;

async function start(): Promise<EmbeddedCluster> {
  baseDir = await Deno.makeTempDir({ prefix: "mitosis-test-pg-" });
  await Deno.chmod(baseDir, 0o777);
  const started = await startEmbeddedPostgres(`${baseDir}/data`, createLogger("test-postgres", "warn"));
  globalThis.addEventListener("unload", () => {
    started.killSync();
    try {
      Deno.removeSync(baseDir!, { recursive: true });
    } catch {
      // PostgreSQL may still be writing while it shuts down; the temp dir is disposable.
    }
  });
  return started;
}

/** The shared cluster of this test run. */
export function sharedCluster(): Promise<EmbeddedCluster> {
  cluster ??= start();
  return cluster;
}

/** Runs `CREATE DATABASE <new name> <clause>` on the shared cluster; returns the new database's URL. */
async function createDatabase(clause = ""): Promise<string> {
  const c = await sharedCluster();
  const name = `test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = connect(c.url, 1);
  try {
    await admin.unsafe(`CREATE DATABASE ${name} ${clause}`);
  } finally {
    await admin.end();
  }
  return c.url.replace(/\/postgres$/, `/${name}`);
}

/** Creates an empty database on the shared cluster and returns its URL. */
export function freshDatabase(): Promise<string> {
  return createDatabase();
}

let template: Promise<string> | undefined;
let prepared: Promise<string> | undefined;

/** A fresh database with every migration applied, which nobody connects to afterwards; resolves with its name. */
async function migratedTemplate(): Promise<string> {
  const url = await createDatabase();
  const sql = connect(url, 1);
  try {
    await migrate(sql, createLogger("test-postgres", "warn"));
  } finally {
    await sql.end();
  }
  return new URL(url).pathname.slice(1);
}

/**
 * Creates a database holding the coordinator's current schema and returns its
 * URL: a copy of a template migrated once per run, made while the previous
 * caller's test ran (the next one is started now). A coordinator started on
 * it finds no migration left to apply. A copy that failed is made again here.
 */
export async function migratedDatabase(): Promise<string> {
  template ??= migratedTemplate();
  const name = await template;
  const ready = prepared;
  prepared = createDatabase(`TEMPLATE ${name}`);
  prepared.catch(() => {/* the next caller makes its own */});
  return await ready?.catch(() => undefined) ?? await createDatabase(`TEMPLATE ${name}`);
}
