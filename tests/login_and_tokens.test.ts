import { assertEquals, assertNotEquals } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { md5Array } from "../shared/client/md5.ts";

test("login returns a token that /auth resolves to the user", async () => {
  await using coord = await startTestCoordinator();
  const token = await login(coord.url, ADMIN.username, ADMIN.password);
  const res = await call(coord.url, "GET", "/auth", { token });
  assertEquals(res.status, 200);
  assertEquals(res.text, ADMIN.username);
});

test("wrong password and unknown user are 401 with msg", async () => {
  await using coord = await startTestCoordinator();
  for (const username of [ADMIN.username, "nobody"]) {
    const res = await call(coord.url, "POST", "/login", {
      body: { username, md5_password: md5Array("wrong") },
    });
    assertEquals(res.status, 401);
    assertEquals(typeof (res.body as { msg: string }).msg, "string");
  }
});

test("a new login rotates the signature so older tokens answer 401", async () => {
  await using coord = await startTestCoordinator();
  const first = await login(coord.url, ADMIN.username, ADMIN.password);
  const second = await login(coord.url, ADMIN.username, ADMIN.password);
  assertNotEquals(first, second);
  assertEquals((await call(coord.url, "GET", "/auth", { token: first })).status, 401);
  assertEquals((await call(coord.url, "GET", "/auth", { token: second })).status, 200);
});

test("login with retain keeps older tokens valid", async () => {
  await using coord = await startTestCoordinator();
  const first = await login(coord.url, ADMIN.username, ADMIN.password);
  const second = await login(coord.url, ADMIN.username, ADMIN.password, true);
  assertEquals((await call(coord.url, "GET", "/auth", { token: first })).status, 200);
  assertEquals((await call(coord.url, "GET", "/auth", { token: second })).status, 200);
});

test("an expired token answers 401", async () => {
  await using coord = await startTestCoordinator({ access_token_expires_in: 1000 });
  const token = await login(coord.url, ADMIN.username, ADMIN.password);
  assertEquals((await call(coord.url, "GET", "/auth", { token })).status, 200);
  // The token's exp has whole-second precision: it lapses 1-2 s after the login. Ask until it does.
  const deadline = Date.now() + 10_000;
  let res = await call(coord.url, "GET", "/auth", { token });
  while (res.status === 200 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    res = await call(coord.url, "GET", "/auth", { token });
  }
  assertEquals(res.status, 401);
  assertEquals((res.body as { msg: string }).msg, "invalid or expired token");
});

test("missing, garbage and forged tokens answer 401", async () => {
  await using coord = await startTestCoordinator();
  assertEquals((await call(coord.url, "GET", "/auth")).status, 401);
  assertEquals((await call(coord.url, "GET", "/auth", { token: "not-a-token" })).status, 401);
  const token = await login(coord.url, ADMIN.username, ADMIN.password);
  const jwt = atob(token);
  const forged = btoa(jwt.slice(0, -4) + (jwt.endsWith("AAAA") ? "BBBB" : "AAAA"));
  assertEquals((await call(coord.url, "GET", "/auth", { token: forged })).status, 401);
});

test("changing one's password rotates the token and the new password works", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password);
  const alice = await createUser(coord.url, admin, "alice", "old-pw");
  const res = await call(coord.url, "POST", "/users/alice/password", {
    token: alice,
    body: { old_md5_password: md5Array("old-pw"), new_md5_password: md5Array("new-pw") },
  });
  assertEquals(res.status, 200);
  const fresh = (res.body as { token: string }).token;
  assertEquals((await call(coord.url, "GET", "/auth", { token: alice })).status, 401);
  assertEquals((await call(coord.url, "GET", "/auth", { token: fresh })).status, 200);
  await login(coord.url, "alice", "new-pw", true);
  const wrongOld = await call(coord.url, "POST", "/users/alice/password", {
    token: fresh,
    body: { old_md5_password: md5Array("old-pw"), new_md5_password: md5Array("x") },
  });
  assertEquals(wrongOld.status, 401);
  const other = await call(coord.url, "POST", `/users/${ADMIN.username}/password`, {
    token: fresh,
    body: { old_md5_password: md5Array("new-pw"), new_md5_password: md5Array("x") },
  });
  assertEquals(other.status, 403);
});

test("GET /redis answers url null and /health answers ok", async () => {
  await using coord = await startTestCoordinator();
  const token = await login(coord.url, ADMIN.username, ADMIN.password);
  assertEquals((await call(coord.url, "GET", "/redis", { token })).body, { url: null });
  assertEquals((await call(coord.url, "GET", "/health")).body, { status: "ok" });
});
