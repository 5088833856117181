/**
 * Group attachments end to end on the local blob store: upload URLs, listing,
 * metadata, downloads, deletions (single, by filter, by list, admin), storage
 * quota accounting, the 1 h delete lock-out, roles and key validation.
 */
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator, type TestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";

const encoder = new TextEncoder();

type Upload = { exist: boolean; url: string };
type Download = { url: string; size: number };

/** Encodes a key for a URL path, segment by segment. */
const keyPath = (key: string) => key.split("/").map(encodeURIComponent).join("/");

/** A key of `bytes` ASCII bytes made of 200-byte path segments (file systems cap a name at 255). */
const longKey = (bytes: number) => (("k".repeat(199) + "/").repeat(Math.ceil(bytes / 200))).slice(0, bytes - 1) + "z";

/** Asks for an upload URL and uploads `content` to it. */
async function upload(coord: TestCoordinator, token: string, group: string, key: string, content: string) {
  const bytes = encoder.encode(content);
  const res = await call(coord.url, "POST", `/groups/${group}/attachments`, {
    token,
    body: { key, content_length: bytes.length },
  });
  assertEquals(res.status, 200, `upload ${key}: ${res.text}`);
  const grant = res.body as Upload;
  const put = await fetch(grant.url, { method: "PUT", body: bytes });
  await put.body?.cancel();
  assertEquals(put.status, 200, `PUT ${key}`);
  return grant;
}

/** Fetches a download URL's bytes as text. */
async function fetchText(url: string): Promise<string> {
  const res = await fetch(url);
  const text = await res.text();
  assertEquals(res.status, 200, `GET ${url}: ${text}`);
  return text;
}

/** Downloads an attachment through its download URL. */
async function downloadText(coord: TestCoordinator, token: string, group: string, key: string): Promise<string> {
  const res = await call(coord.url, "GET", `/groups/${group}/download/attachments/${keyPath(key)}`, { token });
  assertEquals(res.status, 200, `download ${key}: ${res.text}`);
  return await fetchText((res.body as Download).url);
}

/** Pretends the attachments of a group were last updated two hours ago (past the delete lock-out). */
async function age(coord: TestCoordinator, group: string): Promise<void> {
  await coord.sql`UPDATE attachments SET updated_at = now() - interval '2 hours'
    WHERE group_id = (SELECT id FROM groups WHERE group_name = ${group})`;
}

async function storageUsed(coord: TestCoordinator, group: string): Promise<number> {
  const [row] = await coord.sql<{ storage_used: number }[]>`
    SELECT storage_used FROM groups WHERE group_name = ${group}`;
  return row.storage_used;
}

async function setup() {
  const coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password);
  const alice = await createUser(coord.url, admin, "alice");
  return { coord, admin, alice };
}

test("attachments: upload, query, metadata, download and delete", async () => {
  const { coord, admin, alice } = await setup();
  await using _ = coord;
  const first = await upload(coord, alice, "alice", "data/hello.txt", "hello world");
  assertEquals(first.exist, false);
  assertTrue(first.url.startsWith(`${coord.url}/blobs/`), first.url);
  await upload(coord, alice, "alice", "data/other.bin", "xyz");
  assertEquals(await storageUsed(coord, "alice"), 14);

  const query = await call(coord.url, "POST", "/groups/alice/attachments/query", {
    token: alice,
    body: { key: "hello", count: false },
  });
  assertEquals(query.status, 200);
  const listed = query.body as { count: number; attachments: Record<string, unknown>[]; group_name: string };
  assertEquals(listed.count, 1);
  assertEquals(listed.group_name, "alice");
  assertEquals(listed.attachments.map((a) => [a.key, a.size, a.content_type]), [
    ["data/hello.txt", 11, "NoSet"],
  ]);
  const counted = await call(coord.url, "POST", "/groups/alice/attachments/query", {
    token: alice,
    body: { count: true },
  });
  assertEquals(counted.body, { count: 2, attachments: [], group_name: "alice" });
  const paged = await call(coord.url, "POST", "/groups/alice/attachments/query", {
    token: alice,
    body: { limit: 1, offset: 1 },
  });
  assertEquals((paged.body as typeof listed).attachments.map((a) => a.key), ["data/other.bin"]);

  const meta = await call(coord.url, "GET", "/groups/alice/attachments/data/hello.txt", { token: alice });
  assertEquals(meta.status, 200);
  const metadata = meta.body as Record<string, unknown>;
  assertEquals(Object.keys(metadata).sort(), ["content_type", "created_at", "size", "updated_at"]);
  assertEquals(metadata.size, 11);
  assertTrue(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \+00:00:00$/.test(metadata.created_at as string));

  const dl = await call(coord.url, "GET", "/groups/alice/download/attachments/data/hello.txt", { token: alice });
  assertEquals(dl.status, 200);
  assertEquals((dl.body as Download).size, 11);
  assertEquals(await fetchText((dl.body as Download).url), "hello world");

  // Replacing an attachment answers exist=true and charges only the difference.
  const again = await upload(coord, alice, "alice", "data/hello.txt", "hello");
  assertEquals(again.exist, true);
  assertEquals(await storageUsed(coord, "alice"), 8);
  assertEquals(await downloadText(coord, alice, "alice", "data/hello.txt"), "hello");

  // Past the lock-out the owner may delete: row, quota and file go.
  await age(coord, "alice");
  const del = await call(coord.url, "DELETE", "/groups/alice/attachments/data/hello.txt", { token: alice });
  assertEquals(del.status, 200, del.text);
  assertEquals(await storageUsed(coord, "alice"), 3);
  const gone = await call(coord.url, "GET", "/groups/alice/attachments/data/hello.txt", { token: alice });
  assertEquals(gone.status, 404);
  assertEquals(typeof (gone.body as { msg: string }).msg, "string");
  const file = `${coord.dataDir}/blobs/mitosis-attachments/alice/data/hello.txt`;
  assertEquals(await Deno.stat(file).then(() => true, () => false), false);
  const again404 = await call(coord.url, "DELETE", "/groups/alice/attachments/data/hello.txt", { token: admin });
  assertEquals(again404.status, 404);
});

test("attachments: storage quota refuses an upload over quota and deleting releases it", async () => {
  const { coord, admin, alice } = await setup();
  await using _ = coord;
  const quota = await call(coord.url, "POST", "/admin/groups/alice/storage-quota", {
    token: admin,
    body: { storage_quota: "=100" },
  });
  assertEquals(quota.body, { storage_quota: 100 });
  await upload(coord, alice, "alice", "a", "x".repeat(60));
  assertEquals(await storageUsed(coord, "alice"), 60);

  const over = await call(coord.url, "POST", "/groups/alice/attachments", {
    token: alice,
    body: { key: "b", content_length: 41 },
  });
  assertEquals(over.status, 403);
  assertIncludes((over.body as { msg: string }).msg, "quota");
  assertEquals(await storageUsed(coord, "alice"), 60);
  const [rows] = await coord.sql`SELECT count(*)::int AS n FROM attachments WHERE key = 'b'`;
  assertEquals(rows.n, 0);

  // Exactly up to the quota is fine; replacing charges only the difference.
  await upload(coord, alice, "alice", "b", "y".repeat(40));
  assertEquals(await storageUsed(coord, "alice"), 100);
  const grow = await call(coord.url, "POST", "/groups/alice/attachments", {
    token: alice,
    body: { key: "a", content_length: 61 },
  });
  assertEquals(grow.status, 403);
  await upload(coord, alice, "alice", "a", "z".repeat(20));
  assertEquals(await storageUsed(coord, "alice"), 60);

  const del = await call(coord.url, "DELETE", "/admin/groups/alice/attachments/b", { token: admin });
  assertEquals(del.status, 200, del.text);
  assertEquals(await storageUsed(coord, "alice"), 20);
  await upload(coord, alice, "alice", "c", "w".repeat(80));
  assertEquals(await storageUsed(coord, "alice"), 100);
});

test("attachments: non-admins cannot delete within an hour of the upload; the admin route can", async () => {
  const { coord, admin, alice } = await setup();
  await using _ = coord;
  await upload(coord, alice, "alice", "fresh.txt", "new");
  const early = await call(coord.url, "DELETE", "/groups/alice/attachments/fresh.txt", { token: alice });
  assertEquals(early.status, 400);
  assertIncludes((early.body as { msg: string }).msg, "fresh.txt");
  assertEquals(await storageUsed(coord, "alice"), 3);

  const notAdmin = await call(coord.url, "DELETE", "/admin/groups/alice/attachments/fresh.txt", { token: alice });
  assertEquals(notAdmin.status, 403);
  const byAdmin = await call(coord.url, "DELETE", "/admin/groups/alice/attachments/fresh.txt", { token: admin });
  assertEquals(byAdmin.status, 200, byAdmin.text);
  assertEquals(await storageUsed(coord, "alice"), 0);
  assertEquals((await call(coord.url, "GET", "/groups/alice/attachments/fresh.txt", { token: alice })).status, 404);
  assertEquals(
    (await call(coord.url, "DELETE", "/admin/groups/alice/attachments/fresh.txt", { token: admin })).status,
    404,
  );
  assertEquals((await call(coord.url, "DELETE", "/admin/groups/nogroup/attachments/x", { token: admin })).status, 404);
});

test("attachments: Read members may list and download but not upload or delete; strangers get 403", async () => {
  const { coord, admin, alice } = await setup();
  await using _ = coord;
  const bob = await createUser(coord.url, admin, "bob");
  const carol = await createUser(coord.url, admin, "carol");
  const roles = await call(coord.url, "PUT", "/groups/alice/users", {
    token: alice,
    body: { relations: { bob: "Read" } },
  });
  assertEquals(roles.status, 200);
  await upload(coord, alice, "alice", "shared.txt", "shared");
  await age(coord, "alice");

  const up = await call(coord.url, "POST", "/groups/alice/attachments", {
    token: bob,
    body: { key: "mine.txt", content_length: 1 },
  });
  assertEquals(up.status, 403);
  assertEquals((await call(coord.url, "DELETE", "/groups/alice/attachments/shared.txt", { token: bob })).status, 403);
  const batchDel = await call(coord.url, "POST", "/groups/alice/delete/attachments", { token: bob, body: {} });
  assertEquals(batchDel.status, 403);
  const dl = await call(coord.url, "GET", "/groups/alice/download/attachments/shared.txt", { token: bob });
  assertEquals(dl.status, 200);
  assertEquals(await fetchText((dl.body as Download).url), "shared");
  assertEquals(
    (await call(coord.url, "POST", "/groups/alice/attachments/query", { token: bob, body: {} })).status,
    200,
  );

  for (
    const [method, path, body] of [
      ["POST", "/groups/alice/attachments/query", {}],
      ["GET", "/groups/alice/attachments/shared.txt", undefined],
      ["GET", "/groups/alice/download/attachments/shared.txt", undefined],
      ["POST", "/groups/alice/download/attachments/list", { keys: ["shared.txt"] }],
      ["POST", "/groups/alice/attachments", { key: "x", content_length: 1 }],
    ] as const
  ) {
    const res = await call(coord.url, method, path, { token: carol, body });
    assertEquals(res.status, 403, `${method} ${path} by a stranger`);
  }
  const missing = await call(coord.url, "POST", "/groups/nogroup/attachments/query", { token: carol, body: {} });
  assertEquals(missing.status, 404);
  assertEquals((await call(coord.url, "POST", "/groups/alice/attachments/query", { body: {} })).status, 401);

  // A group that is not Active refuses uploads.
  await coord.sql`UPDATE groups SET state = 1 WHERE group_name = 'alice'`;
  const locked = await call(coord.url, "POST", "/groups/alice/attachments", {
    token: alice,
    body: { key: "late.txt", content_length: 1 },
  });
  assertEquals(locked.status, 403);
  assertEquals(await storageUsed(coord, "alice"), 6);
});

test("attachments: keys with ./, ../, // or a full key of 1024+ bytes are rejected with 400", async () => {
  const { coord, admin, alice } = await setup();
  await using _ = coord;
  const longGroup = "g".repeat(30);
  assertEquals(
    (await call(coord.url, "POST", "/groups", { token: alice, body: { group_name: longGroup } })).status,
    200,
  );
  const bad: [string, string][] = [
    ["alice", "a/./b"],
    ["alice", "a/../b"],
    ["alice", "a//b"],
    ["alice", "./a"],
    ["alice", "../a"],
    ["alice", "a/.."],
    ["alice", "/abs"],
    ["alice", ""],
    ["alice", "dir/"],
    ["alice", "nul\0byte"],
    [longGroup, longKey(1024 - longGroup.length - 1)], // full key exactly 1024 bytes
    ["alice", "k".repeat(1001)],
  ];
  for (const [group, key] of bad) {
    const res = await call(coord.url, "POST", `/groups/${group}/attachments`, {
      token: alice,
      body: { key, content_length: 1 },
    });
    assertEquals(res.status, 400, `key ${JSON.stringify(key.slice(0, 40))} in ${group}: ${res.text}`);
    assertEquals(typeof (res.body as { msg: string }).msg, "string");
  }
  // 1023 bytes is fine, and so are dots inside names.
  await upload(coord, alice, longGroup, longKey(1023 - longGroup.length - 1), "1");
  await upload(coord, alice, "alice", "v1.0/..hidden/a..b/.x", "2");
  const [row] = await coord.sql`SELECT count(*)::int AS n, coalesce(sum(size), 0)::int AS bytes FROM attachments`;
  assertEquals({ ...row }, { n: 2, bytes: 2 });

  // Keys in paths are validated the same way.
  for (const path of ["/groups/alice/attachments/a//b", `/groups/${longGroup}/attachments/${longKey(1000)}`]) {
    const res = await call(coord.url, "GET", path, { token: alice });
    assertEquals(res.status, 400, `GET ${path.slice(0, 60)}`);
    const del = await call(coord.url, "DELETE", `/admin${path}`, { token: admin });
    assertEquals(del.status, 400, `admin DELETE ${path.slice(0, 60)}`);
  }
});

test("attachments: batch download and delete by filter and by key list", async () => {
  const { coord, alice } = await setup();
  await using _ = coord;
  await upload(coord, alice, "alice", "runs/1.log", "one");
  await upload(coord, alice, "alice", "runs/2.log", "two!");
  await upload(coord, alice, "alice", "model.bin", "weights");

  const byFilter = await call(coord.url, "POST", "/groups/alice/download/attachments", {
    token: alice,
    body: { key: "runs/" },
  });
  assertEquals(byFilter.status, 200);
  const filtered = byFilter.body as { downloads: { key: string; url: string; size: number }[]; group_name: string };
  assertEquals(filtered.group_name, "alice");
  assertEquals(filtered.downloads.map((d) => [d.key, d.size]), [["runs/1.log", 3], ["runs/2.log", 4]]);
  assertEquals(await fetchText(filtered.downloads[1].url), "two!");
  const paged = await call(coord.url, "POST", "/groups/alice/download/attachments", {
    token: alice,
    body: { limit: 1, offset: 2 },
  });
  assertEquals((paged.body as typeof filtered).downloads.map((d) => d.key), ["runs/2.log"]);

  const byList = await call(coord.url, "POST", "/groups/alice/download/attachments/list", {
    token: alice,
    body: { keys: ["model.bin", "missing.bin"] },
  });
  assertEquals(byList.status, 200);
  const listed = byList.body as typeof filtered;
  assertEquals(listed.downloads.map((d) => d.key), ["model.bin"]);
  assertEquals(await fetchText(listed.downloads[0].url), "weights");

  // Fresh attachments are locked out for non-admins: nothing is deleted, all keys fail.
  const locked = await call(coord.url, "POST", "/groups/alice/delete/attachments/list", {
    token: alice,
    body: { keys: ["runs/1.log", "nope"] },
  });
  assertEquals(locked.body, { deleted_count: 0, failed_keys: ["runs/1.log", "nope"], group_name: "alice" });
  const lockedFilter = await call(coord.url, "POST", "/groups/alice/delete/attachments", { token: alice, body: {} });
  assertEquals(lockedFilter.body, { deleted_count: 0, group_name: "alice" });
  assertEquals(await storageUsed(coord, "alice"), 14);

  await age(coord, "alice");
  const delList = await call(coord.url, "POST", "/groups/alice/delete/attachments/list", {
    token: alice,
    body: { keys: ["runs/1.log", "nope", "runs/1.log"] },
  });
  assertEquals(delList.body, { deleted_count: 1, failed_keys: ["nope"], group_name: "alice" });
  const delFilter = await call(coord.url, "POST", "/groups/alice/delete/attachments", {
    token: alice,
    body: { key: "runs/" },
  });
  assertEquals(delFilter.body, { deleted_count: 1, group_name: "alice" });
  const left = await call(coord.url, "POST", "/groups/alice/attachments/query", { token: alice, body: {} });
  assertEquals((left.body as { attachments: { key: string }[] }).attachments.map((a) => a.key), ["model.bin"]);
  assertEquals(await storageUsed(coord, "alice"), 7);
  for (const name of ["1.log", "2.log"]) {
    const path = `${coord.dataDir}/blobs/mitosis-attachments/alice/runs/${name}`;
    assertEquals(await Deno.stat(path).then(() => true, () => false), false, path);
  }
});

const MALFORMED: [string, unknown][] = [
  ["malformed JSON", "{not json"],
  ["empty body", ""],
  ["JSON array", "[]"],
  ["JSON null", "null"],
];

test("attachments: every new endpoint answers bad input with 400 and a msg", async () => {
  const { coord, admin, alice } = await setup();
  await using _ = coord;
  await upload(coord, alice, "alice", "keep.txt", "keep");
  const cases: { method: string; path: string; token: string; bodies: [string, unknown][] }[] = [
    {
      method: "POST",
      path: "/groups/alice/attachments",
      token: alice,
      bodies: [
        ...MALFORMED,
        ["empty object", {}],
        ["key missing", { content_length: 1 }],
        ["content_length missing", { key: "a" }],
        ["content_length negative", { key: "a", content_length: -1 }],
        ["content_length fractional", { key: "a", content_length: 1.5 }],
        ["content_length string", { key: "a", content_length: "1" }],
        ["content_length unsafe", { key: "a", content_length: 2 ** 60 }],
        ["key wrong type", { key: 5, content_length: 1 }],
      ],
    },
    {
      method: "POST",
      path: "/groups/alice/attachments/query",
      token: alice,
      bodies: [
        ...MALFORMED,
        ["key wrong type", { key: 1 }],
        ["limit negative", { limit: -1 }],
        ["offset fractional", { offset: 0.5 }],
        ["count wrong type", { count: "yes" }],
        ["key with NUL", { key: "a\0" }],
      ],
    },
    {
      method: "POST",
      path: "/groups/alice/download/attachments",
      token: alice,
      bodies: [...MALFORMED, ["limit wrong type", { limit: "5" }], ["key with NUL", { key: "\0" }]],
    },
    {
      method: "POST",
      path: "/groups/alice/download/attachments/list",
      token: alice,
      bodies: [
        ...MALFORMED,
        ["keys missing", {}],
        ["keys empty", { keys: [] }],
        ["keys not strings", { keys: [1] }],
        ["empty key", { keys: [""] }],
        ["key with NUL", { keys: ["a\0b"] }],
      ],
    },
    {
      method: "POST",
      path: "/groups/alice/delete/attachments",
      token: alice,
      bodies: [...MALFORMED, ["offset negative", { offset: -3 }]],
    },
    {
      method: "POST",
      path: "/groups/alice/delete/attachments/list",
      token: alice,
      bodies: [...MALFORMED, ["keys missing", {}], ["keys empty", { keys: [] }], ["keys wrong type", { keys: "a" }]],
    },
  ];
  for (const c of cases) {
    for (const [what, body] of c.bodies) {
      const res = await call(coord.url, c.method, c.path, { token: c.token, body });
      assertEquals(res.status, 400, `${c.method} ${c.path} with ${what}: ${res.status} ${res.text}`);
      assertEquals(typeof (res.body as { msg: string }).msg, "string", `${c.method} ${c.path} with ${what}`);
    }
  }
  // Bad group names in paths.
  for (
    const [method, path] of [
      ["POST", "/groups/bad%20name/attachments"],
      ["POST", "/groups/bad%20name/attachments/query"],
      ["GET", "/groups/bad%20name/attachments/k"],
      ["DELETE", "/groups/bad%20name/attachments/k"],
      ["GET", "/groups/bad%20name/download/attachments/k"],
      ["POST", "/groups/bad%20name/download/attachments"],
      ["POST", "/groups/bad%20name/download/attachments/list"],
      ["POST", "/groups/bad%20name/delete/attachments"],
      ["POST", "/groups/bad%20name/delete/attachments/list"],
      ["DELETE", "/admin/groups/bad%20name/attachments/k"],
    ]
  ) {
    const res = await call(coord.url, method, path, { token: admin, body: method === "POST" ? {} : undefined });
    assertEquals(res.status, 400, `${method} ${path}: ${res.text}`);
  }
  // Bad keys in paths.
  for (
    const [method, path] of [
      ["GET", "/groups/alice/attachments/a//b"],
      ["DELETE", "/groups/alice/attachments/a//b"],
      ["GET", "/groups/alice/download/attachments/a//b"],
      ["GET", "/groups/alice/download/attachments/dir/"],
      ["DELETE", "/admin/groups/alice/attachments/a%00b"],
    ]
  ) {
    const res = await call(coord.url, method, path, { token: admin });
    assertEquals(res.status, 400, `${method} ${path}: ${res.text}`);
  }
  // Nothing changed.
  const [row] = await coord.sql`SELECT count(*)::int AS n FROM attachments`;
  assertEquals(row.n, 1);
  assertEquals(await storageUsed(coord, "alice"), 4);
});
