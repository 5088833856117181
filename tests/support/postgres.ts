/**
 * One embedded PostgreSQL per test run, started on first use on a random
 * port in a temporary directory, killed when the test process exits. Each
 * test gets its own fresh database on it.
 */
import { type EmbeddedCluster, startEmbeddedPostgres } from "../../coordinator/db/embedded.ts";
import { connect } from "../../coordinator/db/connect.ts";
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

/** Creates an empty database on the shared cluster and returns its URL. */
export async function freshDatabase(): Promise<string> {
  const c = await sharedCluster();
  const name = `test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = connect(c.url, 1);
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return c.url.replace(/\/postgres$/, `/${name}`);
}
