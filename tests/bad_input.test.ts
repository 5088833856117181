/**
 * Every endpoint answers malformed JSON, wrong types and missing fields with
 * 400 and a `msg`, never 500, and changes nothing.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { md5Array } from "../shared/client/md5.ts";

type Case = { method: string; path: string; as: "admin" | "user" | "none"; bodies: [string, unknown][] };

const MALFORMED: [string, unknown][] = [
  ["malformed JSON", "{not json"],
  ["empty body", ""],
  ["JSON array instead of object", "[]"],
  ["JSON null", "null"],
  ["empty object", {}],
];
const md5 = md5Array("pw");

const CASES: Case[] = [
  {
    method: "POST",
    path: "/login",
    as: "none",
    bodies: [
      ...MALFORMED,
      ["username wrong type", { username: 7, md5_password: md5 }],
      ["md5_password missing", { username: "u1" }],
      ["md5_password too short", { username: "u1", md5_password: [1, 2, 3] }],
      ["md5_password out of range", { username: "u1", md5_password: Array(16).fill(256) }],
      ["md5_password as string", { username: "u1", md5_password: "abc" }],
      ["retain wrong type", { username: "u1", md5_password: md5, retain: "yes" }],
    ],
  },
  {
    method: "POST",
    path: "/users/u1/password",
    as: "user",
    bodies: [
      ...MALFORMED,
      ["new password missing", { old_md5_password: md5 }],
      ["old password wrong type", { old_md5_password: "pw", new_md5_password: md5 }],
      ["fractional bytes", { old_md5_password: Array(16).fill(1.5), new_md5_password: md5 }],
    ],
  },
  {
    method: "POST",
    path: "/groups",
    as: "user",
    bodies: [...MALFORMED, ["group_name wrong type", { group_name: 5 }], ["group_name invalid", {
      group_name: "a b",
    }]],
  },
  {
    method: "PUT",
    path: "/groups/u1/users",
    as: "user",
    bodies: [
      ...MALFORMED,
      ["relations wrong type", { relations: ["u1"] }],
      ["unknown role", { relations: { u1: "Owner" } }],
      ["role wrong type", { relations: { u1: 2 } }],
      ["empty relations", { relations: {} }],
      ["invalid username key", { relations: { "a b": "Read" } }],
    ],
  },
  {
    method: "POST",
    path: "/groups/u1/users/remove",
    as: "user",
    bodies: [...MALFORMED, ["users wrong type", { users: "u1" }], ["users empty", { users: [] }], [
      "users item wrong type",
      { users: [1] },
    ]],
  },
  {
    method: "POST",
    path: "/admin/users",
    as: "admin",
    bodies: [
      ...MALFORMED,
      ["admin missing", { username: "x2", md5_password: md5 }],
      ["admin wrong type", { username: "x2", md5_password: md5, admin: "no" }],
      ["username invalid", { username: "x y", md5_password: md5, admin: false }],
      ["username too long", { username: "x".repeat(256), md5_password: md5, admin: false }],
    ],
  },
  {
    method: "POST",
    path: "/admin/users/u1/password",
    as: "admin",
    bodies: [...MALFORMED, ["new password wrong length", { new_md5_password: Array(17).fill(0) }]],
  },
  {
    method: "POST",
    path: "/admin/users/u1/group-quota",
    as: "admin",
    bodies: [...MALFORMED, ["group_quota number", { group_quota: 3 }], ["group_quota junk", {
      group_quota: "++3",
    }], ["group_quota empty", { group_quota: "" }]],
  },
  {
    method: "POST",
    path: "/admin/users/u1/state",
    as: "admin",
    bodies: [...MALFORMED, ["unknown state", { state: "Sleeping" }], ["state wrong type", { state: 1 }]],
  },
  {
    method: "POST",
    path: "/admin/groups/u1/storage-quota",
    as: "admin",
    bodies: [...MALFORMED, ["storage_quota number", { storage_quota: 10 }], ["storage_quota bad unit", {
      storage_quota: "10XB",
    }]],
  },
  {
    method: "POST",
    path: "/admin/shutdown",
    as: "admin",
    bodies: [...MALFORMED, ["secret wrong type", { secret: 123 }]],
  },
];

test("every endpoint answers malformed, mistyped and incomplete bodies with 400 msg", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const user = await createUser(coord.url, admin, "u1", "pw");
  const before = await coord.sql`SELECT username, auth_signature, encrypted_password, group_quota, state FROM users
    ORDER BY id`;
  let checked = 0;
  for (const c of CASES) {
    for (const [label, body] of c.bodies) {
      const token = c.as === "admin" ? admin : c.as === "user" ? user : undefined;
      const res = await call(coord.url, c.method, c.path, { token, body });
      const where = `${c.method} ${c.path} with ${label}`;
      assertEquals(res.status, 400, `${where}: got ${res.status} ${res.text}`);
      const msg = (res.body as { msg?: unknown }).msg;
      assertTrue(typeof msg === "string" && msg.length > 0, `${where}: no msg in ${res.text}`);
      checked++;
    }
  }
  assertTrue(checked >= 50, `only ${checked} cases ran`);
  const after = await coord.sql`SELECT username, auth_signature, encrypted_password, group_quota, state FROM users
    ORDER BY id`;
  assertEquals(after.map((r) => ({ ...r })), before.map((r) => ({ ...r })));
  const [groups] = await coord.sql`SELECT count(*)::int AS n FROM groups`;
  assertEquals(groups.n, 2);
  assertEquals((await call(coord.url, "GET", "/health")).status, 200);
});

test("invalid names in path parameters are 400, unknown routes 404 with msg", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password);
  for (const path of ["/groups/a%20b", "/groups/a.b/users"]) {
    const method = path.endsWith("users") ? "PUT" : "GET";
    const body = method === "PUT" ? { relations: { x: "Read" } } : undefined;
    const res = await call(coord.url, method, path, { token: admin, body });
    assertEquals(res.status, 400, `${method} ${path}: ${res.text}`);
  }
  const delBad = await call(coord.url, "DELETE", "/admin/users/bad%2Fname", { token: admin });
  assertEquals(delBad.status, 400, delBad.text);
  const noUsers = await call(coord.url, "DELETE", `/groups/${ADMIN.username}/users`, { token: admin });
  assertEquals(noUsers.status, 400);
  const missing = await call(coord.url, "GET", "/no/such/route");
  assertEquals(missing.status, 404);
  assertEquals(typeof (missing.body as { msg: string }).msg, "string");
});
