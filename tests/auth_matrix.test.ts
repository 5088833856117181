/**
 * The authorization matrix: every endpoint of the coordinator (listed from
 * the Hono app, so a new route without a row fails this test) is called by
 * every kind of caller, and each cell is checked against the expected
 * outcome: allowed (anything but 401/403 and 5xx) or denied (401/403, or the
 * row's own denial status).
 *
 * Callers: nobody; carol, a user with no role in group teamA; rita (Read),
 * will (Write) and alice (Admin, creator) of teamA; the site admin; a worker
 * and a manager registered by alice for teamA ("own"); and a worker and a
 * manager registered by carol for her own group only ("foreign").
 * Resources: a task with a result artifact, an attachment, a suite, alice's
 * worker and manager, all in teamA. Rows that destroy what they act on make
 * a fresh resource per cell.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator, type TestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login, type RawResponse } from "./support/http.ts";
import { noopTask, registerWorker } from "./support/workers_api.ts";
import { registerManager } from "./support/ws_manager.ts";
import { listRoutes } from "./support/routes.ts";
import { md5Array } from "../shared/client/md5.ts";

const CALLERS = [
  "anonymous",
  "foreign user",
  "Read",
  "Write",
  "Admin",
  "site admin",
  "own worker",
  "foreign worker",
  "own manager",
  "foreign manager",
] as const;
type Caller = typeof CALLERS[number];

const USERS: Caller[] = ["foreign user", "Read", "Write", "Admin", "site admin"];
const GROUP_READ: Caller[] = ["Read", "Write", "Admin", "site admin"];
const GROUP_WRITE: Caller[] = ["Write", "Admin", "site admin"];
const GROUP_ADMIN: Caller[] = ["Admin", "site admin"];
const SITE: Caller[] = ["site admin"];
const EVERYONE: Caller[] = [...CALLERS];
const NOBODY: Caller[] = [];

/** What a cell's request targets. */
interface Target {
  /** Path parameter values. */
  params?: Record<string, string>;
  body?: unknown;
  /** Appended to the path (`?a=b`). */
  query?: string;
  /** Replaces the caller's token (a fresh runner for rows that consume it). */
  token?: string;
}

/** One endpoint's row of the matrix. */
interface Row {
  method: string;
  /** The route's path as Hono lists it. */
  path: string;
  allow: Caller[];
  /** The request of one cell; called once per cell (rows that destroy their target make a fresh one). */
  target: (fx: Fixtures, caller: Caller) => Promise<Target> | Target;
  /** Statuses that also mean "denied" (besides 401/403), e.g. 404 for a task not held. */
  deniedAlso?: number[];
  /** For routes answering 200 with per-item refusals: whether the response granted the request. */
  granted?: (res: RawResponse) => boolean;
}

/** The shared resources of the matrix. */
interface Fixtures {
  coord: TestCoordinator;
  tokens: Record<Caller, string | undefined>;
  alice: string;
  taskUuid: string;
  suiteUuid: string;
  workerUuid: string;
  managerUuid: string;
  /** A fresh Ready task in teamA. */
  freshTask(): Promise<string>;
  /** A fresh task of teamA with a result artifact. */
  freshArtifact(): Promise<string>;
  /** A fresh attachment key of teamA. */
  freshAttachment(): Promise<string>;
  freshWorker(): Promise<{ uuid: string; token: string }>;
  freshManager(): Promise<{ uuid: string; token: string }>;
  freshSuite(): Promise<string>;
  freshUser(): Promise<string>;
  /** A new name each call. */
  name(prefix: string): string;
}

const json = (res: RawResponse) => res.body as Record<string, unknown>;

/** The matrix, one row per endpoint. */
function rows(): Row[] {
  const task = (fx: Fixtures) => ({ params: { uuid: fx.taskUuid } });
  const worker = (fx: Fixtures) => ({ params: { uuid: fx.workerUuid } });
  const manager = (fx: Fixtures) => ({ params: { uuid: fx.managerUuid } });
  const suite = (fx: Fixtures) => ({ params: { uuid: fx.suiteUuid } });
  const group = { params: { group_name: "teamA" } };
  const ownOrForeign = (own: Caller, foreign: Caller) => async (fx: Fixtures, caller: Caller): Promise<Target> => {
    if (caller !== own && caller !== foreign) return {};
    const fresh = caller.endsWith("worker") ? await fx.freshWorker() : await fx.freshManager();
    return { token: caller === own ? fresh.token : await foreignRunner(fx, caller) };
  };
  return [
    // Session and self-service.
    { method: "GET", path: "/health", allow: EVERYONE, target: () => ({}) },
    {
      method: "POST",
      path: "/login",
      allow: EVERYONE,
      target: () => ({ body: { username: "rita", md5_password: md5Array("rita-pw"), retain: true } }),
    },
    { method: "GET", path: "/auth", allow: USERS, target: () => ({}) },
    { method: "GET", path: "/redis", allow: USERS, target: () => ({}) },
    {
      method: "POST",
      path: "/users/:username/password",
      allow: NOBODY, // only the user themself (not a column here)
      target: () => ({
        params: { username: "dave" },
        body: { old_md5_password: md5Array("dave-pw"), new_md5_password: md5Array("x") },
      }),
    },
    { method: "GET", path: "/users/groups", allow: USERS, target: () => ({}) },
    // Attachments of teamA.
    {
      method: "POST",
      path: "/groups/:group_name/attachments",
      allow: GROUP_WRITE,
      target: (fx) => ({ ...group, body: { key: fx.name("up/"), content_length: 1 } }),
    },
    {
      method: "POST",
      path: "/groups/:group_name/attachments/query",
      allow: GROUP_READ,
      target: () => ({ ...group, body: {} }),
    },
    {
      method: "GET",
      path: "/groups/:group_name/attachments/:key{.+}",
      allow: GROUP_READ,
      target: () => ({ params: { group_name: "teamA", key: "k/a.txt" } }),
    },
    {
      method: "DELETE",
      path: "/groups/:group_name/attachments/:key{.+}",
      allow: GROUP_WRITE,
      target: async (fx) => ({ params: { group_name: "teamA", key: await fx.freshAttachment() } }),
    },
    {
      method: "GET",
      path: "/groups/:group_name/download/attachments/:key{.+}",
      allow: GROUP_READ,
      target: () => ({ params: { group_name: "teamA", key: "k/a.txt" } }),
    },
    {
      method: "POST",
      path: "/groups/:group_name/download/attachments",
      allow: GROUP_READ,
      target: () => ({ ...group, body: {} }),
    },
    {
      method: "POST",
      path: "/groups/:group_name/download/attachments/list",
      allow: GROUP_READ,
      target: () => ({ ...group, body: { keys: ["k/a.txt"] } }),
    },
    {
      method: "POST",
      path: "/groups/:group_name/delete/attachments",
      allow: GROUP_WRITE,
      target: () => ({ ...group, body: { key: "matches-nothing" } }),
    },
    {
      method: "POST",
      path: "/groups/:group_name/delete/attachments/list",
      allow: GROUP_WRITE,
      target: async (fx) => ({ ...group, body: { keys: [await fx.freshAttachment()] } }),
    },
    // Groups.
    { method: "POST", path: "/groups", allow: USERS, target: (fx) => ({ body: { group_name: fx.name("g") } }) },
    { method: "GET", path: "/groups/:group_name", allow: GROUP_READ, target: () => group },
    {
      method: "PUT",
      path: "/groups/:group_name/users",
      allow: GROUP_ADMIN,
      target: () => ({ ...group, body: { relations: { dave: "Read" } } }),
    },
    {
      method: "DELETE",
      path: "/groups/:group_name/users",
      allow: GROUP_ADMIN,
      target: () => ({ ...group, query: "?users=dave" }),
    },
    {
      method: "POST",
      path: "/groups/:group_name/users/remove",
      allow: GROUP_ADMIN,
      target: () => ({ ...group, body: { users: ["dave"] } }),
    },
    // Tasks.
    { method: "POST", path: "/tasks", allow: GROUP_WRITE, target: () => ({ body: noopTask("teamA") }) },
    {
      method: "POST",
      path: "/tasks/submit",
      allow: GROUP_WRITE,
      target: () => ({ body: { tasks: [noopTask("teamA")] } }),
      granted: (res) => res.status === 200 && "Ok" in (json(res).results as Record<string, unknown>[])[0],
    },
    { method: "POST", path: "/tasks/query", allow: GROUP_READ, target: () => ({ body: { group_name: "teamA" } }) },
    {
      method: "POST",
      path: "/tasks/cancel",
      allow: GROUP_WRITE,
      target: () => ({ body: { group_name: "teamA", labels: ["matches-nothing"] } }),
    },
    {
      method: "POST",
      path: "/tasks/cancel/list",
      allow: GROUP_WRITE,
      target: async (fx) => ({ body: { uuids: [await fx.freshTask()] } }),
      granted: (res) => res.status === 200 && json(res).cancelled_count === 1,
    },
    {
      method: "POST",
      path: "/tasks/download/artifacts",
      allow: GROUP_READ,
      target: () => ({ body: { group_name: "teamA", content_type: "result" } }),
    },
    {
      method: "POST",
      path: "/tasks/download/artifacts/list",
      allow: GROUP_READ,
      target: (fx) => ({ body: { uuids: [fx.taskUuid], content_type: "result" } }),
      granted: (res) => res.status === 200 && (json(res).downloads as unknown[]).length === 1,
    },
    {
      method: "POST",
      path: "/tasks/delete/artifacts",
      allow: GROUP_WRITE,
      target: () => ({ body: { group_name: "teamA", content_type: "result", labels: ["matches-nothing"] } }),
    },
    {
      method: "POST",
      path: "/tasks/delete/artifacts/list",
      allow: GROUP_WRITE,
      target: async (fx) => ({ body: { uuids: [await fx.freshArtifact()], content_type: "result" } }),
      granted: (res) => res.status === 200 && json(res).deleted_count === 1,
    },
    {
      method: "POST",
      path: "/tasks/:uuid/artifacts",
      allow: GROUP_WRITE,
      target: (fx) => ({ ...task(fx), body: { content_type: "exec-log", content_length: 1 } }),
    },
    {
      method: "DELETE",
      path: "/tasks/:uuid/artifacts/:content_type",
      allow: GROUP_WRITE,
      target: async (fx) => ({ params: { uuid: await fx.freshArtifact(), content_type: "result" } }),
    },
    {
      method: "GET",
      path: "/tasks/:uuid/download/artifacts/:content_type",
      allow: GROUP_READ,
      target: (fx) => ({ params: { uuid: fx.taskUuid, content_type: "result" } }),
    },
    { method: "GET", path: "/tasks/:uuid", allow: GROUP_READ, target: task },
    {
      method: "PUT",
      path: "/tasks/:uuid",
      allow: GROUP_WRITE,
      target: async (fx) => ({ params: { uuid: await fx.freshTask() }, body: { priority: 1 } }),
    },
    {
      method: "PUT",
      path: "/tasks/:uuid/labels",
      allow: GROUP_WRITE,
      target: (fx) => ({ ...task(fx), body: { labels: ["x"] } }),
    },
    {
      method: "DELETE",
      path: "/tasks/:uuid",
      allow: GROUP_WRITE,
      target: async (fx) => ({ params: { uuid: await fx.freshTask() } }),
    },
    {
      method: "POST",
      path: "/tasks/:uuid/cancel",
      allow: GROUP_WRITE,
      target: async (fx) => ({ params: { uuid: await fx.freshTask() } }),
    },
    // Independent workers: registration and the worker-token API.
    {
      method: "POST",
      path: "/workers",
      allow: GROUP_WRITE,
      target: () => ({ body: { tags: [], groups: ["teamA:Write"] } }),
    },
    {
      method: "DELETE",
      path: "/workers",
      allow: ["own worker", "foreign worker"],
      target: ownOrForeign("own worker", "foreign worker"),
    },
    { method: "POST", path: "/workers/heartbeat", allow: ["own worker", "foreign worker"], target: () => ({}) },
    {
      method: "GET",
      path: "/workers/tasks",
      allow: ["own worker", "foreign worker"],
      // A fresh worker of each kind, so that the shared own worker does not claim teamA's tasks.
      target: ownOrForeign("own worker", "foreign worker"),
    },
    {
      method: "POST",
      path: "/workers/tasks",
      allow: ["own worker"],
      deniedAlso: [404], // a report on a task the worker does not hold
      target: async (fx, caller) => {
        if (caller !== "own worker") return { body: { id: await taskId(fx, fx.taskUuid), op: "Finish" } };
        const held = await heldByFreshWorker(fx);
        return { token: held.token, body: { id: held.id, op: "Finish" } };
      },
    },
    { method: "GET", path: "/workers/tasks/:uuid", allow: ["own worker"], target: task },
    {
      method: "GET",
      path: "/workers/tasks/:uuid/artifacts/:content_type",
      allow: ["own worker"],
      target: (fx) => ({ params: { uuid: fx.taskUuid, content_type: "result" } }),
    },
    {
      method: "GET",
      path: "/workers/tasks/:uuid/attachments/:key{.+}",
      allow: ["own worker"],
      target: (fx) => ({ params: { uuid: fx.taskUuid, key: "k/a.txt" } }),
    },
    // Workers as users manage them.
    { method: "POST", path: "/workers/query", allow: GROUP_READ, target: () => ({ body: { group_name: "teamA" } }) },
    {
      method: "POST",
      path: "/workers/shutdown",
      allow: GROUP_READ,
      target: () => ({ body: { group_name: "teamA", labels: ["matches-nothing"], op: "Graceful" } }),
    },
    {
      method: "POST",
      path: "/workers/shutdown/list",
      allow: GROUP_ADMIN,
      target: async (fx) => ({ body: { uuids: [(await fx.freshWorker()).uuid], op: "Graceful" } }),
      granted: (res) => res.status === 200 && json(res).shutdown_count === 1,
    },
    { method: "GET", path: "/workers/:uuid", allow: GROUP_READ, target: worker },
    {
      method: "DELETE",
      path: "/workers/:uuid",
      allow: GROUP_ADMIN,
      target: async (fx) => ({ params: { uuid: (await fx.freshWorker()).uuid } }),
    },
    {
      method: "PUT",
      path: "/workers/:uuid/tags",
      allow: GROUP_WRITE,
      target: (fx) => ({ ...worker(fx), body: { tags: [] } }),
    },
    {
      method: "PUT",
      path: "/workers/:uuid/labels",
      allow: GROUP_WRITE,
      target: (fx) => ({ ...worker(fx), body: { labels: ["l"] } }),
    },
    {
      method: "PUT",
      path: "/workers/:uuid/groups",
      allow: GROUP_ADMIN,
      target: (fx) => ({ ...worker(fx), body: { relations: { teamA: "Write" } } }),
    },
    {
      method: "DELETE",
      path: "/workers/:uuid/groups",
      allow: GROUP_ADMIN,
      target: async (fx) => ({ params: { uuid: (await fx.freshWorker()).uuid }, query: "?groups=teamA" }),
    },
    {
      method: "DELETE",
      path: "/workers/:uuid/groups/remove",
      allow: GROUP_ADMIN,
      target: async (fx) => ({ params: { uuid: (await fx.freshWorker()).uuid }, body: { groups: ["teamA"] } }),
    },
    // Suites.
    {
      method: "POST",
      path: "/suites",
      allow: GROUP_WRITE,
      target: () => ({ body: { group_name: "teamA", tags: ["matrix-none"], worker_schedule: { worker_count: 1 } } }),
    },
    { method: "GET", path: "/suites", allow: GROUP_READ, target: () => ({ params: {}, query: "?group_name=teamA" }) },
    { method: "POST", path: "/suites/query", allow: GROUP_READ, target: () => ({ body: { group_name: "teamA" } }) },
    { method: "GET", path: "/suites/:uuid", allow: GROUP_READ, target: suite },
    {
      method: "POST",
      path: "/suites/:uuid/cancel",
      allow: GROUP_WRITE,
      target: async (fx) => ({ params: { uuid: await fx.freshSuite() }, body: {} }),
    },
    {
      method: "DELETE",
      path: "/suites/:uuid",
      allow: GROUP_WRITE,
      target: async (fx) => ({ params: { uuid: await fx.freshSuite() } }),
    },
    {
      method: "POST",
      path: "/suites/:uuid/close",
      allow: GROUP_WRITE,
      target: async (fx) => ({ params: { uuid: await fx.freshSuite() } }),
    },
    { method: "POST", path: "/suites/:uuid/managers/refresh", allow: GROUP_WRITE, target: suite },
    {
      method: "POST",
      path: "/suites/:uuid/managers",
      allow: GROUP_WRITE,
      target: (fx) => ({ ...suite(fx), body: { manager_uuids: [fx.managerUuid] } }),
    },
    {
      method: "DELETE",
      path: "/suites/:uuid/managers",
      allow: GROUP_WRITE,
      target: async (fx) => ({ params: { uuid: await fx.freshSuite() }, body: { manager_uuids: [fx.managerUuid] } }),
    },
    // Node managers: registration, the manager-token API, and management by users.
    {
      method: "POST",
      path: "/managers",
      allow: GROUP_WRITE,
      target: () => ({ body: { tags: [], groups: ["teamA:Write"] } }),
    },
    {
      method: "POST",
      path: "/managers/heartbeat",
      allow: ["own manager", "foreign manager"],
      target: () => ({ body: { state: "Idle" } }),
    },
    { method: "GET", path: "/managers", allow: GROUP_READ, target: () => ({ query: "?group_name=teamA" }) },
    { method: "POST", path: "/managers/query", allow: GROUP_READ, target: () => ({ body: { group_name: "teamA" } }) },
    { method: "GET", path: "/managers/tasks/:uuid", allow: ["own manager"], target: task },
    { method: "GET", path: "/managers/:uuid", allow: GROUP_READ, target: manager },
    {
      method: "POST",
      path: "/managers/:uuid/shutdown",
      allow: GROUP_ADMIN,
      target: async (fx) => ({ params: { uuid: (await fx.freshManager()).uuid }, body: {} }),
    },
    {
      method: "PUT",
      path: "/managers/:uuid/tags",
      allow: GROUP_WRITE,
      target: (fx) => ({ ...manager(fx), body: { tags: [] } }),
    },
    {
      method: "PUT",
      path: "/managers/:uuid/labels",
      allow: GROUP_WRITE,
      target: (fx) => ({ ...manager(fx), body: { labels: ["l"] } }),
    },
    {
      method: "PUT",
      path: "/managers/:uuid/groups",
      allow: GROUP_ADMIN,
      target: (fx) => ({ ...manager(fx), body: { relations: { teamA: "Write" } } }),
    },
    {
      method: "DELETE",
      path: "/managers/:uuid/groups",
      allow: GROUP_ADMIN,
      target: async (fx) => ({ params: { uuid: (await fx.freshManager()).uuid }, query: "?groups=teamA" }),
    },
    {
      method: "POST",
      path: "/managers/resources",
      allow: ["own manager"],
      target: (fx) => ({ body: { suite_uuid: fx.suiteUuid, remote_file: { Attachment: { key: "k/a.txt" } } } }),
    },
    {
      method: "POST",
      path: "/managers/:uuid/refresh-token",
      allow: ["own manager"],
      target: async (fx, caller) => {
        const fresh = await fx.freshManager();
        return { params: { uuid: fresh.uuid }, token: caller === "own manager" ? fresh.token : undefined };
      },
    },
    // Without an upgrade request the socket is refused after authentication (400/426), not with 401/403.
    { method: "GET", path: "/ws/managers", allow: ["own manager", "foreign manager"], target: () => ({}) },
    // Site administration.
    {
      method: "DELETE",
      path: "/admin/groups/:group_name/attachments/:key{.+}",
      allow: SITE,
      target: async (fx) => ({ params: { group_name: "teamA", key: await fx.freshAttachment() } }),
    },
    {
      method: "POST",
      path: "/admin/users",
      allow: SITE,
      target: (fx) => ({ body: { username: fx.name("u"), md5_password: md5Array("pw"), admin: false } }),
    },
    {
      method: "DELETE",
      path: "/admin/users/:username",
      allow: SITE,
      target: async (fx) => ({ params: { username: await fx.freshUser() } }),
    },
    {
      method: "POST",
      path: "/admin/users/:username/password",
      allow: SITE,
      target: () => ({ params: { username: "dave" }, body: { new_md5_password: md5Array("dave-pw") } }),
    },
    {
      method: "POST",
      path: "/admin/users/:username/group-quota",
      allow: SITE,
      target: () => ({ params: { username: "dave" }, body: { group_quota: "+1" } }),
    },
    {
      method: "POST",
      path: "/admin/users/:username/state",
      allow: SITE,
      target: () => ({ params: { username: "dave" }, body: { state: "Active" } }),
    },
    {
      method: "POST",
      path: "/admin/groups/:group_name/storage-quota",
      allow: SITE,
      target: () => ({ ...group, body: { storage_quota: "+1" } }),
    },
    {
      method: "DELETE",
      path: "/admin/tasks/:uuid/artifacts/:content_type",
      allow: SITE,
      target: async (fx) => ({ params: { uuid: await fx.freshArtifact(), content_type: "result" } }),
    },
    {
      method: "DELETE",
      path: "/admin/workers/:uuid",
      allow: SITE,
      target: async (fx) => ({ params: { uuid: (await fx.freshWorker()).uuid } }),
    },
    {
      method: "DELETE",
      path: "/admin/workers/:uuid/",
      allow: SITE,
      target: async (fx) => ({ params: { uuid: (await fx.freshWorker()).uuid } }),
    },
    {
      method: "POST",
      path: "/admin/shutdown",
      allow: NOBODY, // the site admin too needs the secret logged at start; a wrong one is 403
      target: () => ({ body: { secret: "not-the-secret" } }),
    },
    // Prometheus metrics: a site admin's token or the configured metrics_token (not held by any caller here).
    { method: "GET", path: "/metrics", allow: SITE, target: () => ({}) },
    // The local blob store: only signed URLs, never a token.
    {
      method: "GET",
      path: "/blobs/:bucket/:key{.+}",
      allow: NOBODY,
      target: () => ({ params: { bucket: "attachments", key: "teamA/k/a.txt" } }),
    },
    {
      method: "PUT",
      path: "/blobs/:bucket/:key{.+}",
      allow: NOBODY,
      target: () => ({ params: { bucket: "attachments", key: "teamA/evil" }, body: "x" }),
    },
  ];
}

/** The id of a task (for worker reports). */
async function taskId(fx: Fixtures, uuid: string): Promise<number> {
  const [row] = await fx.coord.sql<{ id: number }[]>`SELECT id FROM active_tasks WHERE uuid = ${uuid}
    UNION ALL SELECT id FROM archived_tasks WHERE uuid = ${uuid}`;
  return row.id;
}

/** A fresh worker of alice's holding a fresh high-priority teamA task. */
async function heldByFreshWorker(fx: Fixtures): Promise<{ token: string; id: number }> {
  const res = await call(fx.coord.url, "POST", "/workers", {
    token: fx.alice,
    body: { tags: ["matrix-held"], groups: ["teamA:Write"] },
  });
  const { token } = res.body as { token: string };
  const submitted = await call(fx.coord.url, "POST", "/tasks", {
    token: fx.alice,
    body: noopTask("teamA", { tags: ["matrix-held"], priority: 1000 }),
  });
  const uuid = (submitted.body as { uuid: string }).uuid;
  const fetched = await call(fx.coord.url, "GET", "/workers/tasks", { token });
  const got = fetched.body as { id: number; uuid: string };
  assertEquals(got.uuid, uuid);
  return { token, id: got.id };
}

/** A fresh runner of carol's (for rows that consume the runner). */
async function foreignRunner(fx: Fixtures, caller: Caller): Promise<string> {
  const carol = await login(fx.coord.url, "carol", "carol-pw", true);
  if (caller === "foreign worker") return (await registerWorker(fx.coord.url, carol)).token;
  return (await registerManager(fx.coord.url, carol)).token;
}

/** Uploads `bytes` to a presigned URL answered in `{url}`. */
async function putTo(res: RawResponse, bytes: string): Promise<void> {
  const { url } = res.body as { url: string };
  const put = await fetch(url, { method: "PUT", body: bytes });
  await put.body?.cancel();
  assertTrue(put.ok, `upload failed: ${put.status}`);
}

async function setupFixtures(coord: TestCoordinator): Promise<Fixtures> {
  const url = coord.url;
  const admin = await login(url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(url, admin, "alice");
  const rita = await createUser(url, admin, "rita");
  const will = await createUser(url, admin, "will");
  const carol = await createUser(url, admin, "carol");
  await createUser(url, admin, "dave");
  const ok = (res: RawResponse, what: string) => assertTrue(res.status < 300, `${what}: ${res.status} ${res.text}`);
  ok(await call(url, "POST", "/groups", { token: alice, body: { group_name: "teamA" } }), "group");
  ok(
    await call(url, "PUT", "/groups/teamA/users", {
      token: alice,
      body: { relations: { rita: "Read", will: "Write" } },
    }),
    "members",
  );
  let counter = 0;
  const name = (prefix: string) => `${prefix}${++counter}`;
  const freshTask = async () => {
    const res = await call(url, "POST", "/tasks", { token: alice, body: noopTask("teamA", { tags: ["matrix-none"] }) });
    ok(res, "task");
    return (res.body as { uuid: string }).uuid;
  };
  const freshArtifact = async () => {
    const uuid = await freshTask();
    const res = await call(url, "POST", `/tasks/${uuid}/artifacts`, {
      token: alice,
      body: { content_type: "result", content_length: 3 },
    });
    ok(res, "artifact");
    await putTo(res, "abc");
    // Artifacts younger than an hour cannot be deleted by users (as in v0.6.8): age it.
    await coord.sql`UPDATE artifacts SET updated_at = now() - interval '2 hours' WHERE task_id = ${uuid}`;
    return uuid;
  };
  const freshAttachment = async () => {
    const key = name("k/fresh-");
    const res = await call(url, "POST", "/groups/teamA/attachments", {
      token: alice,
      body: { key, content_length: 3 },
    });
    ok(res, "attachment");
    await putTo(res, "abc");
    return key;
  };
  const freshWorker = () => registerWorker(url, alice, { tags: ["matrix-none"], groups: ["teamA:Write"] });
  const freshManager = () => registerManager(url, alice, { tags: ["matrix-none"], groups: ["teamA:Write"] });
  const freshSuite = async () => {
    const res = await call(url, "POST", "/suites", {
      token: alice,
      body: { group_name: "teamA", tags: ["matrix-none"], worker_schedule: { worker_count: 1 } },
    });
    ok(res, "suite");
    return (res.body as { uuid: string }).uuid;
  };
  const freshUser = async () => {
    const username = name("gone");
    ok(
      await call(url, "POST", "/admin/users", {
        token: admin,
        body: { username, md5_password: md5Array("pw"), admin: false },
      }),
      "user",
    );
    return username;
  };

  const taskUuid = await freshArtifact();
  const attachment = await call(url, "POST", "/groups/teamA/attachments", {
    token: alice,
    body: { key: "k/a.txt", content_length: 3 },
  });
  await putTo(attachment, "abc");
  const suiteUuid = await freshSuite();
  // Alice's runners serve teamA; their tags keep them off the matrix's tasks and suites unless a row asks.
  const ownWorker = await registerWorker(url, alice, { tags: ["matrix-own"], groups: ["teamA:Write"] });
  const ownManager = await registerManager(url, alice, { tags: ["matrix-none"], groups: ["teamA:Write"] });
  const foreignWorker = await registerWorker(url, carol);
  const foreignManager = await registerManager(url, carol);
  return {
    coord,
    alice,
    tokens: {
      "anonymous": undefined,
      "foreign user": carol,
      "Read": rita,
      "Write": will,
      "Admin": alice,
      "site admin": admin,
      "own worker": ownWorker.token,
      "foreign worker": foreignWorker.token,
      "own manager": ownManager.token,
      "foreign manager": foreignManager.token,
    },
    taskUuid,
    suiteUuid,
    workerUuid: ownWorker.uuid,
    managerUuid: ownManager.uuid,
    freshTask,
    freshArtifact,
    freshAttachment,
    freshWorker,
    freshManager,
    freshSuite,
    freshUser,
    name,
  };
}

/** Fills `:name` and `:name{regex}` segments of a route path. */
function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/:([a-z_]+)(\{[^}]*\})?/g, (_m, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`no value for :${key} in ${path}`);
    return value;
  });
}

test("authorization matrix: every endpoint × every kind of caller gets the expected outcome", async () => {
  await using coord = await startTestCoordinator({ login_max_failures: 0 });
  const fx = await setupFixtures(coord);
  const table = rows();

  // Every route has exactly one row, and every row names a route.
  const routes = (await listRoutes()).map((r) => `${r.method} ${r.path}`).sort();
  const covered = table.map((r) => `${r.method} ${r.path}`).sort();
  assertEquals(covered.filter((k) => !routes.includes(k)), [], "rows naming no route");
  assertEquals(routes.filter((k) => !covered.includes(k)), [], "routes without a row in the matrix");
  assertEquals(new Set(covered).size, covered.length, "one row per route");

  const mismatches: string[] = [];
  let cells = 0;
  for (const row of table) {
    for (const caller of CALLERS) {
      const target = await row.target(fx, caller);
      const token = target.token ?? fx.tokens[caller];
      const path = fillPath(row.path, target.params ?? {}) + (target.query ?? "");
      const res = await call(coord.url, row.method, path, { token, body: target.body });
      cells++;
      const expected = row.allow.includes(caller) ? "allowed" : "denied";
      const denied = res.status === 401 || res.status === 403 || (row.deniedAlso ?? []).includes(res.status) ||
        (row.granted !== undefined && res.status === 200 && !row.granted(res));
      // A 404 "no route" means the row's request is wrong, not that the caller was allowed.
      const actual = res.status >= 500 || res.text.includes("no route for") ? "error" : denied ? "denied" : "allowed";
      if (actual !== expected) {
        mismatches.push(
          `${row.method} ${row.path} as ${caller}: expected ${expected}, got ${res.status} ${res.text.slice(0, 160)}`,
        );
      }
    }
  }
  assertEquals(mismatches, [], `${mismatches.length} of ${cells} cells differ`);
  assertEquals(cells, table.length * CALLERS.length);
});
