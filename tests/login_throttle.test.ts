/**
 * Login throttling and constant-cost logins: after `login_max_failures`
 * failed logins within `login_failure_window` (per user name and per client
 * address) further logins answer 429 with `Retry-After`, even with the right
 * password, until the window passes; successful logins are not counted; and
 * a login for a user that does not exist costs as much as one for a user
 * that does, so its timing does not reveal which names exist.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { md5Array } from "../shared/client/md5.ts";
import { LoginThrottle } from "../coordinator/auth/login_throttle.ts";

function attempt(url: string, username: string, password: string) {
  return call(url, "POST", "/login", { body: { username, md5_password: md5Array(password) } });
}

test("ten failed logins within a minute close the user to the right password too, with 429 and Retry-After", async () => {
  await using coord = await startTestCoordinator();
  for (let i = 0; i < 10; i++) {
    assertEquals((await attempt(coord.url, ADMIN.username, `wrong-${i}`)).status, 401);
  }
  const res = await fetch(`${coord.url}/login`, {
    method: "POST",
    body: JSON.stringify({ username: ADMIN.username, md5_password: md5Array(ADMIN.password) }),
  });
  assertEquals(res.status, 429);
  const retryAfter = Number(res.headers.get("Retry-After"));
  assertTrue(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  assertTrue(typeof (await res.json()).msg === "string");
});

test("the throttle opens again after the window; successful logins do not count", async () => {
  await using coord = await startTestCoordinator({ login_max_failures: 3, login_failure_window: 1500 });
  for (let i = 0; i < 6; i++) await login(coord.url, ADMIN.username, ADMIN.password);
  for (let i = 0; i < 3; i++) assertEquals((await attempt(coord.url, ADMIN.username, "nope")).status, 401);
  assertEquals((await attempt(coord.url, ADMIN.username, ADMIN.password)).status, 429);
  // The client address is closed too: unknown and other names are refused from it.
  assertEquals((await attempt(coord.url, "somebody-else", "x")).status, 429);
  await new Promise((resolve) => setTimeout(resolve, 1600));
  await login(coord.url, ADMIN.username, ADMIN.password);
});

test("the throttle counts per user name and per address, forgetting the name's failures on success", () => {
  let now = 0;
  const throttle = new LoginThrottle({ maxFailures: 3, windowMs: 60_000, now: () => now });
  for (const address of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) throttle.recordFailure("alice", address);
  assertTrue(throttle.retryAfterSeconds("alice", "10.0.0.9") > 0, "user name not throttled across addresses");
  assertEquals(throttle.retryAfterSeconds("bob", "10.0.0.1"), 0);
  for (const name of ["a", "b", "c"]) throttle.recordFailure(name, "10.0.0.7");
  assertEquals(throttle.retryAfterSeconds("d", "10.0.0.7"), 60);
  now = 30_000;
  assertEquals(throttle.retryAfterSeconds("d", "10.0.0.7"), 30);
  now = 60_001;
  assertEquals(throttle.retryAfterSeconds("d", "10.0.0.7"), 0);
  throttle.recordFailure("carol", null);
  throttle.recordFailure("carol", null);
  throttle.recordSuccess("carol");
  throttle.recordFailure("carol", null);
  assertEquals(throttle.retryAfterSeconds("carol", null), 0);
  const off = new LoginThrottle({ maxFailures: 0, windowMs: 60_000 });
  for (let i = 0; i < 100; i++) off.recordFailure("x", "y");
  assertEquals(off.retryAfterSeconds("x", "y"), 0);
});

test("the throttle's memory is bounded under many distinct names", () => {
  const throttle = new LoginThrottle({ maxFailures: 2, windowMs: 60_000, maxKeys: 100 });
  for (let i = 0; i < 10_000; i++) throttle.recordFailure(`user-${i}`, null);
  assertEquals(throttle.retryAfterSeconds("user-0", null), 0);
  throttle.recordFailure("user-9999", null);
  assertTrue(throttle.retryAfterSeconds("user-9999", null) > 0);
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

test("a login for an unknown user costs about as much as one for a known user", async () => {
  await using coord = await startTestCoordinator({ login_max_failures: 0 });
  const admin = await login(coord.url, ADMIN.username, ADMIN.password);
  await createUser(coord.url, admin, "known", "right");
  const time = async (username: string) => {
    const started = performance.now();
    const res = await attempt(coord.url, username, "wrong");
    assertEquals(res.status, 401);
    return performance.now() - started;
  };
  await time("warm-up-unknown");
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 5; i++) {
    known.push(await time("known"));
    unknown.push(await time(`nobody-${i}`));
  }
  const [k, u] = [median(known), median(unknown)];
  assertTrue(u >= 0.5 * k, `unknown user ${u.toFixed(1)} ms, known user ${k.toFixed(1)} ms`);
});
