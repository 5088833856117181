import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, login } from "./support/http.ts";
import { cliSandbox, unreachableUrl } from "./support/cli.ts";

/** The token cached for `username` in a credential file's text. */
function cachedToken(text: string, username: string): string | undefined {
  return text.split("\n").find((line) => line.startsWith(`${username}:`))?.slice(username.length + 1);
}

test("cli: login caches username:token (0600) and auth prints the user", async () => {
  await using coord = await startTestCoordinator();
  await using cli = await cliSandbox(coord.url);

  const res = await cli.run(["login", ADMIN.username, ADMIN.password]);
  assertEquals(res.code, 0, res.stderr);
  assertIncludes(res.stdout, `Logged in as ${ADMIN.username}`);
  const token = cachedToken(await cli.credentials(), ADMIN.username);
  assertTrue(token, "credentials file has a mitosis_admin line");
  assertEquals((await call(coord.url, "GET", "/auth", { token })).text, ADMIN.username);
  assertEquals((await Deno.stat(cli.credentialsFile)).mode! & 0o777, 0o600);

  const auth = await cli.run(["auth"]);
  assertEquals(auth.code, 0, auth.stderr);
  assertEquals(auth.stdout.trim(), ADMIN.username);
  const json = await cli.run(["auth", "--json"]);
  assertEquals(JSON.parse(json.stdout), { username: ADMIN.username });
});

test("cli: a wrong password exits 1 with the server's msg and caches nothing", async () => {
  await using coord = await startTestCoordinator();
  await using cli = await cliSandbox(coord.url);
  const res = await cli.run(["login", ADMIN.username, "wrong-password"]);
  assertEquals(res.code, 1);
  assertEquals(res.stderr.trim(), "error: wrong username or password");
  assertEquals(res.stdout, "");
  assertEquals(await cli.credentials(), "");
});

test("cli: login reads a prompted password (and username) from piped stdin", async () => {
  await using coord = await startTestCoordinator();
  await using cli = await cliSandbox(coord.url);

  const withUser = await cli.run(["login", ADMIN.username], { stdin: `${ADMIN.password}\n` });
  assertEquals(withUser.code, 0, withUser.stderr);
  assertIncludes(withUser.stderr, "Password for mitosis_admin:");
  const first = cachedToken(await cli.credentials(), ADMIN.username);

  const prompted = await cli.run(["login"], { stdin: `${ADMIN.username}\n${ADMIN.password}\n` });
  assertEquals(prompted.code, 0, prompted.stderr);
  assertIncludes(prompted.stderr, "Username:");
  const text = await cli.credentials();
  const second = cachedToken(text, ADMIN.username);
  assertTrue(second && second !== first, "the new token replaced the old one");
  assertEquals(text.trim().split("\n").length, 1, "one line per user");

  const closed = await cli.run(["login", ADMIN.username]);
  assertEquals(closed.code, 1);
  assertIncludes(closed.stderr, "error: stdin closed before");
});

test("cli: a rejected cached token triggers a fresh login with --password and re-caches", async () => {
  await using coord = await startTestCoordinator();
  await using cli = await cliSandbox(coord.url);
  await cli.ok(["login", ADMIN.username, ADMIN.password]);
  const stale = cachedToken(await cli.credentials(), ADMIN.username);
  await login(coord.url, ADMIN.username, ADMIN.password); // rotates the signature: the cached token is now invalid

  const res = await cli.run(["auth", "-p", ADMIN.password]);
  assertEquals(res.code, 0, res.stderr);
  assertEquals(res.stdout.trim(), ADMIN.username);
  assertIncludes(res.stderr, "was rejected");
  const fresh = cachedToken(await cli.credentials(), ADMIN.username);
  assertTrue(fresh && fresh !== stale);
  assertEquals((await call(coord.url, "GET", "/auth", { token: fresh })).status, 200);
});

test("cli: without a cached token, commands log in from --user and a piped password", async () => {
  await using coord = await startTestCoordinator();
  await using cli = await cliSandbox(coord.url);
  const res = await cli.run(["auth", "-u", ADMIN.username], { stdin: `${ADMIN.password}\n` });
  assertEquals(res.code, 0, res.stderr);
  assertEquals(res.stdout.trim(), ADMIN.username);
  assertTrue(cachedToken(await cli.credentials(), ADMIN.username));
});

test("cli: login --retain keeps the earlier token valid", async () => {
  await using coord = await startTestCoordinator();
  await using cli = await cliSandbox(coord.url);
  await cli.ok(["login", ADMIN.username, ADMIN.password]);
  const first = cachedToken(await cli.credentials(), ADMIN.username);
  await cli.ok(["login", "--retain", ADMIN.username, ADMIN.password]);
  assertEquals((await call(coord.url, "GET", "/auth", { token: first })).status, 200);
  await cli.ok(["login", ADMIN.username, ADMIN.password]);
  assertEquals((await call(coord.url, "GET", "/auth", { token: first })).status, 401);
});

test("cli: an unreachable coordinator is a clear error naming its URL, exit 1", async () => {
  await using coord = await startTestCoordinator();
  await using cli = await cliSandbox(coord.url);
  const url = unreachableUrl();
  const res = await cli.run(["-c", url, "login", ADMIN.username, ADMIN.password]);
  assertEquals(res.code, 1);
  assertIncludes(res.stderr, `error: cannot reach the coordinator at ${url}`);
  assertEquals(res.stderr.trim().split("\n").length, 1, "one line, no stack trace");
});

test("cli: configuration precedence is file < MITOSIS_* env < flags", async () => {
  await using coord = await startTestCoordinator();
  await using cli = await cliSandbox(coord.url);
  const dead = unreachableUrl();
  const credentials = `${cli.dir}/creds`;
  await Deno.mkdir(`${cli.dir}/config/mitosis`, { recursive: true });
  await Deno.writeTextFile(
    cli.configFile,
    `[client]\ncoordinator_addr = "${dead}"\ncredential_path = "${credentials}"\nuser = "${ADMIN.username}"\n`,
  );
  // The sandbox's MITOSIS_COORDINATOR_ADDR (env) beats the file.
  const viaEnv = await cli.run(["login", "-p", ADMIN.password]);
  assertEquals(viaEnv.code, 0, viaEnv.stderr);
  assertTrue(cachedToken(await Deno.readTextFile(credentials), ADMIN.username), "credential_path from the file");
  // Without the env variable the file's (dead) URL is used; the -c flag beats both.
  const fileOnly = await cli.run(["auth"], { env: { MITOSIS_COORDINATOR_ADDR: undefined } });
  assertEquals(fileOnly.code, 1);
  assertIncludes(fileOnly.stderr, dead);
  const viaFlag = await cli.run(["auth", "-c", coord.url], { env: { MITOSIS_COORDINATOR_ADDR: dead } });
  assertEquals(viaFlag.code, 0, viaFlag.stderr);

  const bad = await cli.run(["auth"], { env: { MITOSIS_RETAIN: "maybe" } });
  assertEquals(bad.code, 1);
  assertIncludes(bad.stderr, 'error: client.retain: "maybe" is not a boolean');
});

test("cli: usage errors exit non-zero; --help exits 0", async () => {
  await using coord = await startTestCoordinator();
  await using cli = await cliSandbox(coord.url);
  const unknown = await cli.run(["frobnicate"]);
  assertEquals(unknown.code, 1);
  assertIncludes(unknown.stderr, "unknown command 'frobnicate'");
  const help = await cli.run(["--help"]);
  assertEquals(help.code, 0);
  assertIncludes(help.stdout, "MITOSIS_COORDINATOR_ADDR");
});
