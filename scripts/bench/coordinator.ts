/** The coordinator every benchmark measures against: its own process, a fresh database, quiet logs. */
import { spawnCoordinator, type SpawnedCoordinator } from "../../tests/support/coordinator.ts";
import { freshDatabase } from "../../tests/support/postgres.ts";
import { login } from "../../tests/support/http.ts";

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
