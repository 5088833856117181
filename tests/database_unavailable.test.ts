/**
 * A lost database connection is a transient condition, not a bug: the error
 * a query gets when PostgreSQL terminates its backend is recognised, and the
 * REST error mapping answers it 503 `{msg}` with `Retry-After` (never 500).
 * The availability tracker tells a lost connection from an outage (a probe),
 * logs an outage once at each end, and bounds waits on a silent database.
 */
import { Hono } from "hono";
import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { freshDatabase } from "./support/postgres.ts";
import { connect } from "../coordinator/db/connect.ts";
import { DatabaseUnavailableError, isDatabaseUnavailable } from "../coordinator/db/errors.ts";
import { DatabaseAvailability } from "../coordinator/db/availability.ts";
import { eventually } from "./support/suites.ts";
import { errorHandler } from "../coordinator/http/errors.ts";
import { createLogger } from "../shared/log/logger.ts";

test("a query whose backend is terminated fails as 'database unavailable' and is answered 503", async () => {
  const url = await freshDatabase();
  const victim = connect(url, 1);
  const killer = connect(url, 1);
  try {
    const [{ pid }] = await victim<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    const sleeping = victim`SELECT pg_sleep(30)`.then(() => null, (error: unknown) => error);
    // Wait until the query runs, then terminate its backend.
    for (;;) {
      const [row] = await killer<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ${pid} AND query LIKE '%pg_sleep%'`;
      if (row.n === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await killer`SELECT pg_terminate_backend(${pid})`;
    const error = await sleeping;
    assertTrue(error !== null, "the query failed");
    assertTrue(isDatabaseUnavailable(error), `not recognised: ${String(error)}`);
    assertTrue(!isDatabaseUnavailable(new Error("boom")));

    const app = new Hono();
    app.onError(errorHandler(createLogger("test", "off")));
    app.get("/", () => {
      throw error;
    });
    const res = await app.request("/");
    assertEquals(res.status, 503);
    assertEquals(res.headers.get("Retry-After"), "1");
    assertEquals(await res.json(), { msg: "the database is unavailable; retry shortly" });
  } finally {
    // postgres.js under Deno does not finish end() of a pool whose connection was terminated: bound it.
    await victim.end({ timeout: 1 });
    await killer.end();
  }
});

/** A logger keeping its lines, and the tracker under test with short delays and a probe the test controls. */
function tracker(probe: () => Promise<Date>) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger("test", "debug", {}, (line) => lines.push(JSON.parse(line)));
  const database = new DatabaseAvailability({
    probe,
    log,
    stallMs: 100,
    probeTimeoutMs: 100,
    outageWaitMs: 50,
    retryInitialMs: 20,
    retryMaxMs: 40,
  });
  const logged = (msg: string) => lines.filter((l) => l.msg === msg);
  return { database, lines, logged };
}

const connectionRefused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });

test("a lost connection the probe contradicts is no outage; other errors are not the tracker's", async () => {
  const { database, logged } = tracker(() => Promise.resolve(new Date()));
  try {
    assertTrue(!database.failed(new Error("boom"), {}), "not an unavailability");
    assertTrue(database.failed(connectionRefused, { path: "/a" }));
    await eventually("the probe", () => logged("database connection failed; the database answers").length === 1, 2_000);
    assertTrue(database.reachable);
    assertEquals(logged("database connection lost"), []);
  } finally {
    await database.stop();
  }
});

test("an outage is logged once when it starts and once when it ends, with its duration and failures", async () => {
  let up = false;
  const dbNow = new Date("2030-01-01T00:00:00Z");
  const { database, logged } = tracker(() => up ? Promise.resolve(dbNow) : Promise.reject(connectionRefused));
  try {
    for (let i = 0; i < 20; i++) database.failed(connectionRefused, { path: `/r${i}` });
    await eventually("the outage", () => !database.reachable, 2_000);
    for (let i = 0; i < 20; i++) database.failed(connectionRefused, { path: `/s${i}` });
    await new Promise((resolve) => setTimeout(resolve, 200)); // several failed probes
    up = true;
    await eventually("the recovery", () => database.reachable, 2_000);
    const lost = logged("database connection lost");
    assertEquals(lost.length, 1);
    assertEquals([lost[0].path, lost[0].error], ["/r0", "connect ECONNREFUSED 127.0.0.1:5432"]);
    const restored = logged("database connection restored");
    assertEquals(restored.length, 1);
    assertTrue((restored[0].outage_ms as number) >= 200, JSON.stringify(restored[0]));
    assertTrue((restored[0].probes as number) >= 2, JSON.stringify(restored[0]));
    assertEquals(restored[0].failed_operations, 21); // the first, and the 20 reported during the outage
    assertEquals(database.resumedAt, dbNow);
    assertEquals(database.outages.length, 1);
  } finally {
    await database.stop();
  }
});

test("within: work stuck on a silent database fails with DatabaseUnavailableError; slow work on a live one finishes", async () => {
  let silent = true;
  const { database, logged } = tracker(() => silent ? new Promise<Date>(() => {}) : Promise.resolve(new Date()));
  try {
    const started = performance.now();
    const stuck = await database.within(new Promise<never>(() => {}), { path: "/stuck" }).catch((e) => e);
    const waited = performance.now() - started;
    assertTrue(stuck instanceof DatabaseUnavailableError && isDatabaseUnavailable(stuck), String(stuck));
    assertTrue(waited >= 190 && waited < 1_000, `gave up after ${waited} ms (stall 100 + probe 100)`);
    assertEquals(logged("database connection lost").length, 1);
    // During the outage, the wait is shorter.
    const again = performance.now();
    await database.within(new Promise<never>(() => {}), {}).catch(() => null);
    assertTrue(performance.now() - again < 190, `second wait ${performance.now() - again} ms`);

    silent = false;
    await eventually("the recovery", () => database.reachable, 2_000);
    const slow = new Promise<string>((resolve) => setTimeout(resolve, 400, "done"));
    assertEquals(await database.within(slow, { path: "/slow" }), "done");
    assertEquals(logged("database connection lost").length, 1);
  } finally {
    await database.stop();
  }
});
