/**
 * The coordinator as a real process: concurrent starts on one database,
 * embedded PostgreSQL persistence across restarts, shutdown paths.
 */
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { spawnCoordinator } from "./support/coordinator.ts";
import { freshDatabase } from "./support/postgres.ts";
import { call, createUser, login } from "./support/http.ts";
import { connect } from "../coordinator/db/connect.ts";
import { listMigrations } from "../coordinator/db/migrate.ts";

test("two coordinators starting at once on one fresh database both come up", async () => {
  const dbUrl = await freshDatabase();
  const args = ["--bind", "127.0.0.1:0", "--db-url", dbUrl, "--admin-password", "pw"];
  const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  const [a, b] = await Promise.all(dirs.map((dir) => spawnCoordinator([...args, "--data-dir", dir])));
  try {
    // Both serve, and a token from one is honoured by the other only if they share keys,
    // so log in on each separately.
    for (const coord of [a, b]) {
      assertEquals((await call(coord.url, "GET", "/health")).status, 200);
      await login(coord.url, "mitosis_admin", "pw", true);
    }
    const sql = connect(dbUrl, 1);
    try {
      const versions = await sql`SELECT version FROM schema_migrations ORDER BY version`;
      assertEquals(versions.map((r) => r.version), (await listMigrations()).map((m) => m.version));
      const [admins] = await sql`SELECT count(*)::int AS n FROM users WHERE username = 'mitosis_admin'`;
      assertEquals(admins.n, 1);
    } finally {
      await sql.end();
    }
  } finally {
    assertEquals(await a.stop(), 0);
    assertEquals(await b.stop(), 0);
    for (const dir of dirs) await Deno.remove(dir, { recursive: true });
  }
});

function postgresPidsFor(dataDir: string): number[] {
  const out = new Deno.Command("ps", { args: ["-eo", "pid,args"] }).outputSync();
  return new TextDecoder().decode(out.stdout).split("\n")
    .filter((line) => line.includes("postgres") && line.includes(dataDir))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

test("embedded PostgreSQL keeps data across a coordinator restart and stops with it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "mitosis-persist-" });
  await Deno.chmod(dataDir, 0o755);
  const args = ["--bind", "127.0.0.1:0", "--data-dir", dataDir, "--admin-password", "pw"];
  const env = { MITOSIS_LOG_LEVEL: "info" };
  try {
    const first = await spawnCoordinator(args, env);
    let code: number;
    try {
      assertIncludes(first.stderr(), "using embedded PostgreSQL");
      const admin = await login(first.url, "mitosis_admin", "pw");
      await createUser(first.url, admin, "persisted", "persisted-pw");
      assertEquals(
        (await call(first.url, "POST", "/groups", {
          token: await login(first.url, "persisted", "persisted-pw"),
          body: { group_name: "kept-group" },
        })).status,
        200,
      );
    } finally {
      code = await first.stop();
    }
    assertEquals(code, 0);
    assertEquals(postgresPidsFor(dataDir), [], "PostgreSQL must stop with the coordinator");

    const second = await spawnCoordinator(args, env);
    try {
      const token = await login(second.url, "persisted", "persisted-pw");
      const groups = await call(second.url, "GET", "/users/groups", { token });
      assertEquals(groups.body, { groups: { "kept-group": "Admin", persisted: "Admin" } });
      // Keys were generated once and reused: the key files are unchanged.
      assertTrue((await Deno.stat(`${dataDir}/private.pem`)).isFile);
    } finally {
      assertEquals(await second.stop(), 0);
    }
    assertEquals(postgresPidsFor(dataDir), []);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

test("POST /admin/shutdown with the logged secret stops the coordinator; a wrong one is 403", async () => {
  const dbUrl = await freshDatabase();
  const dir = await Deno.makeTempDir();
  const coord = await spawnCoordinator(["--bind", "127.0.0.1:0", "--db-url", dbUrl, "--data-dir", dir]);
  try {
    const secret = /"msg":"shutdown secret generated","secret":"([0-9a-f]+)"/.exec(coord.stderr())?.[1];
    assertTrue(secret, "the generated shutdown secret is logged");
    const admin = await login(coord.url, "mitosis_admin", "mitosis_admin");
    assertIncludes(coord.stderr(), "default password");
    const wrong = await call(coord.url, "POST", "/admin/shutdown", { token: admin, body: { secret: "nope" } });
    assertEquals(wrong.status, 403);
    assertEquals((await call(coord.url, "GET", "/health")).status, 200);
    const ok = await call(coord.url, "POST", "/admin/shutdown", { token: admin, body: { secret } });
    assertEquals(ok.status, 200);
    const status = await coord.process.status;
    assertEquals(status.code, 0);
    assertIncludes(coord.stderr(), "coordinator stopped");
  } finally {
    await coord.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

test("a coordinator with bad configuration exits 2 with one line per bad field", async () => {
  const main = new URL("../coordinator/main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", main, "--heartbeat-timeout", "soon"],
    env: {
      MITOSIS_ACCESS_TOKEN_EXPIRES_IN: "7 fortnights",
      MITOSIS_S3_FORCE_PATH_STYLE: "maybe",
      RUST_BACKTRACE: "0",
      NO_COLOR: "1",
    },
  }).output();
  assertEquals(out.code, 2);
  const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
  assertEquals(lines.length, 3, lines.join("\n"));
  assertIncludes(lines.join("\n"), "coordinator.heartbeat_timeout");
  assertIncludes(lines.join("\n"), "coordinator.s3_force_path_style");
  assertIncludes(lines.join("\n"), "env MITOSIS_ACCESS_TOKEN_EXPIRES_IN");
  const stray = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", main, "stray"],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).output();
  assertEquals(stray.code, 2);
  assertIncludes(new TextDecoder().decode(stray.stderr), "unexpected argument stray");
});

test("--help lists every flag with its default and environment name", async () => {
  const main = new URL("../coordinator/main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", main, "--help"],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).output();
  assertEquals(out.code, 0);
  const text = new TextDecoder().decode(out.stdout);
  for (
    const part of ["--bind", "MITOSIS_BIND", "default 127.0.0.1:5000", "--db-url", "MITOSIS_HEARTBEAT_TIMEOUT", "10m"]
  ) {
    assertIncludes(text, part);
  }
});
