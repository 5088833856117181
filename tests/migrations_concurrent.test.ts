/**
 * Schema migrations when several coordinators start at the same moment on
 * one database, as a deployment of several coordinators behind a load
 * balancer does after an upgrade: all of them come up, and each migration is
 * applied once, by one of them, in one transaction. The coordinators share
 * one token key pair, as such a deployment must, so a token issued by one is
 * honoured by the others.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { spawnCoordinator, type SpawnedCoordinator } from "./support/coordinator.ts";
import { freshDatabase } from "./support/postgres.ts";
import { call, login } from "./support/http.ts";
import { connect } from "../coordinator/db/connect.ts";
import { listMigrations, migrate } from "../coordinator/db/migrate.ts";
import { createLogger } from "../shared/log/logger.ts";

const COORDINATORS = 3;
const ADMIN_PASSWORD = "concurrent-pw";

/** `migration applied` log lines of one coordinator's stderr, as versions. */
function appliedVersions(stderr: string): number[] {
  return stderr.split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { msg?: string; version?: number })
    .filter((record) => record.msg === "migration applied")
    .map((record) => record.version as number);
}

/** Writes one Ed25519 key pair into `dir`; returns the flags that point a coordinator at it. */
async function sharedKeyPair(dir: string): Promise<string[]> {
  const { generateKeyPairSync } = await import("node:crypto");
  const pair = generateKeyPairSync("ed25519", {
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  await Deno.writeTextFile(`${dir}/private.pem`, pair.privateKey, { mode: 0o600 });
  await Deno.writeTextFile(`${dir}/public.pem`, pair.publicKey);
  return ["--access-token-private-path", `${dir}/private.pem`, "--access-token-public-path", `${dir}/public.pem`];
}

/**
 * The advisory lock `migrate()` takes (`MIGRATION_LOCK_KEY` in
 * coordinator/db/migrate.ts). The test holds it while the coordinators start,
 * so that all of them reach their migration step before any may go on: the
 * closest possible start. Left to chance, one process starts enough before
 * the others to finish its migrations alone.
 */
const MIGRATION_LOCK_KEY = 0x6d69746f736973;

/** Holds the migration lock on `dbUrl` until `release`. */
async function holdMigrationLock(dbUrl: string) {
  const sql = connect(dbUrl, 1);
  await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
  return {
    /** Coordinator connections of this database waiting for an advisory lock. */
    waiting: async (): Promise<number> => {
      const [row] = await sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'mitosis-coordinator'
          AND wait_event_type = 'Lock' AND wait_event = 'advisory'`;
      return row.n;
    },
    release: async () => {
      await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
      await sql.end();
    },
  };
}

/**
 * Starts `COORDINATORS` coordinator processes on `dbUrl` (each with its own
 * data dir, all with the same key pair) and lets them migrate at the same
 * moment; checks that they all come up, serve and accept each other's
 * tokens, and returns their stderr logs once stopped.
 */
async function startTogether(dbUrl: string): Promise<string[]> {
  const root = await Deno.makeTempDir({ prefix: "mitosis-migrate-concurrent-" });
  const coordinators: SpawnedCoordinator[] = [];
  const lock = await holdMigrationLock(dbUrl);
  let locked = true;
  let spawned: Promise<SpawnedCoordinator>[] = [];
  try {
    const keyArgs = await sharedKeyPair(root);
    const dirs = await Promise.all(
      Array.from({ length: COORDINATORS }, (_, i) => Deno.mkdir(`${root}/c${i}`).then(() => `${root}/c${i}`)),
    );
    spawned = dirs.map((dir) =>
      spawnCoordinator(
        ["--bind", "127.0.0.1:0", "--db-url", dbUrl, "--data-dir", dir, "--admin-password", ADMIN_PASSWORD, ...keyArgs],
        { MITOSIS_LOG_LEVEL: "info" },
      )
    );
    // A coordinator that comes up or fails while the lock is held did not wait for it.
    const early: string[] = [];
    for (const [i, start] of spawned.entries()) {
      start.then(
        () => early.push(`coordinator ${i} came up while the migration lock was held`),
        (error) => early.push(`coordinator ${i} failed while the migration lock was held: ${error}`),
      );
    }
    const deadline = Date.now() + 60_000;
    while ((await lock.waiting()) < COORDINATORS) {
      assertEquals(early, [], "every coordinator waits for the migration lock");
      assertTrue(Date.now() < deadline, `${COORDINATORS} coordinators did not all wait for the migration lock`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    locked = false;
    await lock.release();

    const started = await Promise.allSettled(spawned);
    spawned = [];
    for (const result of started) if (result.status === "fulfilled") coordinators.push(result.value);
    const failures = started.filter((r) => r.status === "rejected").map((r) => String(r.reason));
    assertEquals(failures, [], "every coordinator comes up");

    // One token, honoured by every coordinator: they share the key pair and the database.
    const token = await login(coordinators[0].url, "mitosis_admin", ADMIN_PASSWORD, true);
    for (const coordinator of coordinators) {
      assertEquals((await call(coordinator.url, "GET", "/health")).status, 200);
      const auth = await call(coordinator.url, "GET", "/auth", { token });
      assertEquals(auth.status, 200, `${coordinator.url}: ${auth.text}`);
    }
    const logs: string[] = [];
    for (const coordinator of coordinators.splice(0)) {
      assertEquals(await coordinator.stop(), 0);
      logs.push(coordinator.stderr());
    }
    return logs;
  } finally {
    if (locked) await lock.release();
    for (const result of await Promise.allSettled(spawned)) {
      if (result.status === "fulfilled") coordinators.push(result.value);
    }
    for (const coordinator of coordinators) await coordinator.stop();
    await Deno.remove(root, { recursive: true });
  }
}

interface MigrationRow {
  version: number;
  applied_at: Date;
}

async function migrationRows(dbUrl: string): Promise<MigrationRow[]> {
  const sql = connect(dbUrl, 1);
  try {
    const rows = await sql<MigrationRow[]>`SELECT version, applied_at FROM schema_migrations ORDER BY version`;
    return rows.map(({ version, applied_at }) => ({ version, applied_at }));
  } finally {
    await sql.end();
  }
}

/** Checks that `versions` were applied exactly once in all, all by the same coordinator. */
function assertAppliedOnceByOne(logs: string[], versions: number[]): void {
  const perCoordinator = logs.map(appliedVersions);
  assertEquals(perCoordinator.flat().sort((a, b) => a - b), versions, "each migration is applied exactly once");
  const appliers = perCoordinator.filter((applied) => applied.length > 0);
  assertEquals(appliers.length, 1, "one coordinator applies them all; the others find nothing to do");
}

test(`${COORDINATORS} coordinators starting at once on an empty database apply each migration once`, async () => {
  const dbUrl = await freshDatabase();
  const versions = (await listMigrations()).map((m) => m.version);
  const logs = await startTogether(dbUrl);

  const rows = await migrationRows(dbUrl);
  assertEquals(rows.map((r) => r.version), versions);
  // now() is the transaction's start time: one value means one transaction applied them all.
  assertEquals(new Set(rows.map((r) => r.applied_at.getTime())).size, 1, "applied in one transaction");
  assertAppliedOnceByOne(logs, versions);

  const sql = connect(dbUrl, 1);
  try {
    const [admins] = await sql`SELECT count(*)::int AS n FROM users WHERE username = 'mitosis_admin'`;
    assertEquals(admins.n, 1);
  } finally {
    await sql.end();
  }
});

test(`${COORDINATORS} coordinators of a new version starting at once apply only the missing migrations, once`, async () => {
  const dbUrl = await freshDatabase();
  const all = await listMigrations();
  assertTrue(all.length >= 3, "enough migrations to leave some pending");
  const older = all.slice(0, all.length - 2);
  const pending = all.slice(older.length).map((m) => m.version);
  // The database as a previous version left it.
  const sql = connect(dbUrl, 1);
  try {
    await migrate(sql, createLogger("test", "off"), older);
  } finally {
    await sql.end();
  }
  const before = await migrationRows(dbUrl);

  const logs = await startTogether(dbUrl);

  const rows = await migrationRows(dbUrl);
  assertEquals(rows.map((r) => r.version), all.map((m) => m.version));
  assertEquals(rows.slice(0, before.length), before, "earlier migrations are left as they were");
  const added = rows.slice(before.length);
  assertEquals(new Set(added.map((r) => r.applied_at.getTime())).size, 1, "applied in one transaction");
  assertTrue(added[0].applied_at.getTime() > before[0].applied_at.getTime());
  assertAppliedOnceByOne(logs, pending);
});
