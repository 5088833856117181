import { assertEquals, assertTrue } from "./support/assert.ts";
import { fileFixture } from "./support/file_fixture.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { md5Array } from "../shared/client/md5.ts";
import { parseTimestamp } from "../shared/time.ts";

/**
 * One coordinator and admin token for the whole file: each test works on users and groups of its own names (alice,
 * bob, carol, ...), so none depends on a fresh database.
 */
const shared = fileFixture(async () => {
  const coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  return { coord, admin, [Symbol.asyncDispose]: () => coord[Symbol.asyncDispose]() };
});

shared.test("creating a user creates the user's group with the user as Admin", async ({ coord, admin }) => {
  const alice = await createUser(coord.url, admin, "alice");
  const groups = await call(coord.url, "GET", "/users/groups", { token: alice });
  assertEquals(groups.body, { groups: { alice: "Admin" } });
  const info = await call(coord.url, "GET", "/groups/alice", { token: alice });
  assertEquals(info.status, 200);
  const body = info.body as Record<string, unknown>;
  assertEquals(body.group_name, "alice");
  assertEquals(body.creator_username, "alice");
  assertEquals(body.state, "Active");
  assertEquals(body.task_count, 0);
  assertEquals(body.storage_quota, 16_000_000_000);
  assertEquals(body.storage_used, 0);
  assertEquals(body.worker_count, 0);
  assertEquals(body.users_in_group, { alice: "Admin" });
  assertTrue(parseTimestamp(body.created_at as string) !== null, `timestamp format: ${body.created_at}`);
  const rows = await coord.sql`SELECT u.username, g.group_name, ug.role FROM user_group ug
    JOIN users u ON u.id = ug.user_id JOIN groups g ON g.id = ug.group_id WHERE u.username = 'alice'`;
  assertEquals(rows.map((r) => ({ ...r })), [{ username: "alice", group_name: "alice", role: 2 }]);
});

shared.test("duplicate users and names taken by groups answer 409", async ({ coord, admin }) => {
  await createUser(coord.url, admin, "bob");
  const dup = await call(coord.url, "POST", "/admin/users", {
    token: admin,
    body: { username: "bob", md5_password: md5Array("x"), admin: false },
  });
  assertEquals(dup.status, 409);
  assertEquals(typeof (dup.body as { msg: string }).msg, "string");
  assertEquals((await call(coord.url, "POST", "/groups", { token: admin, body: { group_name: "team" } })).status, 200);
  const clash = await call(coord.url, "POST", "/admin/users", {
    token: admin,
    body: { username: "team", md5_password: md5Array("x"), admin: false },
  });
  assertEquals(clash.status, 409);
  assertEquals((await call(coord.url, "POST", "/groups", { token: admin, body: { group_name: "team" } })).status, 409);
  assertEquals((await call(coord.url, "POST", "/groups", { token: admin, body: { group_name: "bob" } })).status, 409);
  const [count] = await coord.sql`SELECT count(*)::int AS n FROM users WHERE username IN ('bob', 'team')`;
  assertEquals(count.n, 1);
});

shared.test("group names must be 1-255 characters of [A-Za-z0-9_-]", async ({ coord, admin }) => {
  for (const bad of ["", "has space", "dot.name", "slash/name", "ümlaut", "x".repeat(256)]) {
    const res = await call(coord.url, "POST", "/groups", { token: admin, body: { group_name: bad } });
    assertEquals(res.status, 400, `name ${JSON.stringify(bad)}`);
  }
  for (const good of ["a", "A-b_9", "x".repeat(255)]) {
    const res = await call(coord.url, "POST", "/groups", { token: admin, body: { group_name: good } });
    assertEquals(res.status, 200, `name ${good}`);
  }
});

shared.test("group quota: 8 groups held, the 9th is 403, after +1 it is allowed", async ({ coord, admin }) => {
  const carol = await createUser(coord.url, admin, "carol");
  for (let i = 1; i <= 7; i++) {
    const res = await call(coord.url, "POST", "/groups", { token: carol, body: { group_name: `carol-g${i}` } });
    assertEquals(res.status, 200, `group ${i + 1} of 8`);
  }
  const ninth = await call(coord.url, "POST", "/groups", { token: carol, body: { group_name: "carol-g8" } });
  assertEquals(ninth.status, 403);
  const held = (await call(coord.url, "GET", "/users/groups", { token: carol })).body as { groups: object };
  assertEquals(Object.keys(held.groups).length, 8);
  const bump = await call(coord.url, "POST", "/admin/users/carol/group-quota", {
    token: admin,
    body: { group_quota: "+1" },
  });
  assertEquals(bump.body, { group_quota: 9 });
  assertEquals(
    (await call(coord.url, "POST", "/groups", { token: carol, body: { group_name: "carol-g8" } })).status,
    200,
  );
  const [row] = await coord.sql`SELECT group_count, group_quota FROM users WHERE username = 'carol'`;
  assertEquals({ ...row }, { group_count: 9, group_quota: 9 });
});

shared.test("group quota changes: +N, -N, =N, N; negative results and junk are 400", async ({ coord, admin }) => {
  await createUser(coord.url, admin, "dave");
  const set = (q: string) =>
    call(coord.url, "POST", "/admin/users/dave/group-quota", { token: admin, body: { group_quota: q } });
  assertEquals((await set("+2")).body, { group_quota: 10 });
  assertEquals((await set("-3")).body, { group_quota: 7 });
  assertEquals((await set("=12")).body, { group_quota: 12 });
  assertEquals((await set("5")).body, { group_quota: 5 });
  assertEquals((await set("-6")).status, 400);
  assertEquals((await set("lots")).status, 400);
  assertEquals((await set("+1.5")).status, 400);
  assertEquals(
    (await call(coord.url, "POST", "/admin/users/nobody/group-quota", {
      token: admin,
      body: { group_quota: "+1" },
    })).status,
    404,
  );
  const [row] = await coord.sql`SELECT group_quota FROM users WHERE username = 'dave'`;
  assertEquals(row.group_quota, 5);
});

shared.test("storage quota arithmetic: +10GB, -N, =N, plain sizes", async ({ coord, admin }) => {
  await createUser(coord.url, admin, "erin");
  const set = (q: string) =>
    call(coord.url, "POST", "/admin/groups/erin/storage-quota", { token: admin, body: { storage_quota: q } });
  assertEquals((await set("+10GB")).body, { storage_quota: 26_000_000_000 });
  assertEquals((await set("-1000")).body, { storage_quota: 25_999_999_000 });
  assertEquals((await set("=1GiB")).body, { storage_quota: 1024 ** 3 });
  assertEquals((await set("500MB")).body, { storage_quota: 500_000_000 });
  assertEquals((await set("-1GB")).status, 400);
  assertEquals((await set("10 parsecs")).status, 400);
  assertEquals(
    (await call(coord.url, "POST", "/admin/groups/nogroup/storage-quota", {
      token: admin,
      body: { storage_quota: "1GB" },
    })).status,
    404,
  );
  const [row] = await coord.sql`SELECT storage_quota FROM groups WHERE group_name = 'erin'`;
  assertEquals(row.storage_quota, 500_000_000);
});

shared.test("non-admins get 403 on every /admin endpoint", async ({ coord, admin }) => {
  const frank = await createUser(coord.url, admin, "frank");
  const endpoints: [string, string, unknown][] = [
    ["POST", "/admin/users", { username: "x1", md5_password: md5Array("x"), admin: false }],
    ["DELETE", "/admin/users/frank", undefined],
    ["POST", "/admin/users/frank/password", { new_md5_password: md5Array("x") }],
    ["POST", "/admin/users/frank/group-quota", { group_quota: "+100" }],
    ["POST", "/admin/users/frank/state", { state: "Active" }],
    ["POST", "/admin/groups/frank/storage-quota", { storage_quota: "+1TB" }],
    ["POST", "/admin/shutdown", { secret: coord.shutdownSecret }],
  ];
  for (const [method, path, body] of endpoints) {
    const res = await call(coord.url, method, path, { token: frank, body });
    assertEquals(res.status, 403, `${method} ${path}`);
    assertEquals(typeof (res.body as { msg: string }).msg, "string");
  }
  const [row] = await coord.sql`SELECT group_quota, state FROM users WHERE username = 'frank'`;
  assertEquals({ ...row }, { group_quota: 8, state: 0 });
  assertEquals((await call(coord.url, "GET", "/health")).status, 200);
});

shared.test("admin user state: Locked users cannot log in, Deleted users' tokens are refused", async ({ coord, admin }) => {
  const gina = await createUser(coord.url, admin, "gina", "gina-pw");
  const lock = await call(coord.url, "POST", "/admin/users/gina/state", { token: admin, body: { state: "locked" } });
  assertEquals(lock.body, { state: "Locked" });
  assertEquals((await call(coord.url, "GET", "/auth", { token: gina })).status, 403);
  const denied = await call(coord.url, "POST", "/login", {
    body: { username: "gina", md5_password: md5Array("gina-pw") },
  });
  assertEquals(denied.status, 403);
  await call(coord.url, "POST", "/admin/users/gina/state", { token: admin, body: { state: "Active" } });
  const again = await login(coord.url, "gina", "gina-pw", true);
  const del = await call(coord.url, "DELETE", "/admin/users/gina", { token: admin });
  assertEquals(del.body, { state: "Deleted" });
  assertEquals((await call(coord.url, "GET", "/auth", { token: again })).status, 401);
  const [row] = await coord.sql`SELECT state FROM users WHERE username = 'gina'`;
  assertEquals(row.state, 2);
});

shared.test("admin password reset revokes the user's tokens and sets the new password", async ({ coord, admin }) => {
  const hank = await createUser(coord.url, admin, "hank", "old");
  const res = await call(coord.url, "POST", "/admin/users/hank/password", {
    token: admin,
    body: { new_md5_password: md5Array("new") },
  });
  assertEquals(res.status, 200);
  assertEquals((await call(coord.url, "GET", "/auth", { token: hank })).status, 401);
  await login(coord.url, "hank", "new");
});

shared.test("group membership: Admins add, change and remove users; others are refused", async ({ coord, admin }) => {
  const ivan = await createUser(coord.url, admin, "ivan");
  const judy = await createUser(coord.url, admin, "judy");
  await createUser(coord.url, admin, "ken");
  assertEquals((await call(coord.url, "POST", "/groups", { token: ivan, body: { group_name: "lab" } })).status, 200);

  // Non-members cannot see the group; members without Admin cannot change it.
  assertEquals((await call(coord.url, "GET", "/groups/lab", { token: judy })).status, 403);
  const add = await call(coord.url, "PUT", "/groups/lab/users", {
    token: ivan,
    body: { relations: { judy: "write", ken: "Read" } },
  });
  assertEquals(add.status, 200);
  const judyView = await call(coord.url, "GET", "/groups/lab", { token: judy });
  assertEquals((judyView.body as { users_in_group: unknown }).users_in_group, null);
  assertEquals(
    (await call(coord.url, "PUT", "/groups/lab/users", {
      token: judy,
      body: { relations: { judy: "Admin" } },
    })).status,
    403,
  );
  const ivanView = await call(coord.url, "GET", "/groups/lab", { token: ivan });
  assertEquals((ivanView.body as { users_in_group: unknown }).users_in_group, {
    ivan: "Admin",
    judy: "Write",
    ken: "Read",
  });
  assertEquals((await call(coord.url, "GET", "/users/groups", { token: judy })).body, {
    groups: { judy: "Admin", lab: "Write" },
  });

  // Unknown users: 404 and nothing changes.
  const unknown = await call(coord.url, "PUT", "/groups/lab/users", {
    token: ivan,
    body: { relations: { judy: "Admin", nobody: "Read" } },
  });
  assertEquals(unknown.status, 404);

  // Remove via query (comma list) and via JSON body.
  assertEquals((await call(coord.url, "DELETE", "/groups/lab/users?users=ken", { token: ivan })).status, 200);
  assertEquals(
    (await call(coord.url, "POST", "/groups/lab/users/remove", {
      token: ivan,
      body: { users: ["judy"] },
    })).status,
    200,
  );
  // The last Admin cannot be removed or demoted.
  assertEquals((await call(coord.url, "DELETE", "/groups/lab/users?users=ivan", { token: ivan })).status, 400);
  assertEquals(
    (await call(coord.url, "PUT", "/groups/lab/users", {
      token: ivan,
      body: { relations: { ivan: "Read" } },
    })).status,
    400,
  );
  const members = await coord.sql`SELECT u.username, ug.role FROM user_group ug JOIN users u ON u.id = ug.user_id
    JOIN groups g ON g.id = ug.group_id WHERE g.group_name = 'lab'`;
  assertEquals(members.map((r) => ({ ...r })), [{ username: "ivan", role: 2 }]);
  assertEquals((await call(coord.url, "GET", "/groups/nope", { token: ivan })).status, 404);
});
