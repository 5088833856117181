/**
 * Applies the numbered SQL migrations in `migrations/` at start. All pending
 * migrations run in one transaction under a transaction-scoped advisory lock,
 * so several coordinators starting together on one empty database serialise:
 * the first applies them, the others wait and then find nothing to do.
 */
import type { Sql } from "./connect.ts";
import type { Logger } from "../../shared/log/logger.ts";

/** Advisory lock key reserved for schema migrations ("mitosis" in ASCII). */
const MIGRATION_LOCK_KEY = 0x6d69746f736973;

/** A migration file: `0001_init.sql` → version 1, name `init`. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);

/** Lists the migration files in version order. */
export async function listMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const match = /^(\d+)_([\w-]+)\.sql$/.exec(entry.name);
    if (!entry.isFile || !match) continue;
    migrations.push({
      version: Number(match[1]),
      name: match[2],
      sql: await Deno.readTextFile(new URL(entry.name, dir)),
    });
  }
  return migrations.sort((a, b) => a.version - b.version);
}

/** Applies every migration not yet recorded; returns the versions applied. */
export async function migrate(sql: Sql, log: Logger, migrations?: Migration[]): Promise<number[]> {
  const all = migrations ?? await listMigrations();
  return await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
    const done = new Set(
      (await tx<{ version: number }[]>`SELECT version FROM schema_migrations`).map((r) => r.version),
    );
    const applied: number[] = [];
    for (const m of all) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.sql);
      await tx`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
      log.info("migration applied", { version: m.version, name: m.name });
      applied.push(m.version);
    }
    return applied;
  });
}
