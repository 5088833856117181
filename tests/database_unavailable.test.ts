/**
 * A lost database connection is a transient condition, not a bug: the error
 * a query gets when PostgreSQL terminates its backend is recognised, and the
 * REST error mapping answers it 503 `{msg}` with `Retry-After` (never 500).
 */
import { Hono } from "hono";
import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { freshDatabase } from "./support/postgres.ts";
import { connect } from "../coordinator/db/connect.ts";
import { isDatabaseUnavailable } from "../coordinator/db/errors.ts";
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
