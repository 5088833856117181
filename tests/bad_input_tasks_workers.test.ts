/**
 * Task, worker and artifact endpoints answer malformed, mistyped and
 * incomplete input with 400 and a `msg`, and change nothing.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, login } from "./support/http.ts";
import { noopTask, registerWorker } from "./support/workers_api.ts";

const MALFORMED: [string, unknown][] = [
  ["malformed JSON", "{oops"],
  ["empty body", ""],
  ["array body", "[1]"],
  ["string body", '"x"'],
];

test("task, worker and artifact endpoints answer bad input with 400 msg and change nothing", async () => {
  await using coord = await startTestCoordinator();
  const user = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const group = ADMIN.username;
  const taskRes = await call(coord.url, "POST", "/tasks", { token: user, body: noopTask(group) });
  const task = (taskRes.body as { uuid: string }).uuid;
  const worker = await registerWorker(coord.url, user);
  const workerToken = worker.token;
  const spec = { args: ["true"] };
  type Case = [string, string, "user" | "worker", [string, unknown][]];
  const cases: Case[] = [
    ["POST", "/tasks", "user", [
      ...MALFORMED,
      ["empty object", {}],
      ["task_spec missing", { group_name: group }],
      ["args empty", { group_name: group, task_spec: { args: [] } }],
      ["args wrong type", { group_name: group, task_spec: { args: "true" } }],
      ["envs not strings", { group_name: group, task_spec: { args: ["x"], envs: { A: 1 } } }],
      ["priority fractional", { group_name: group, task_spec: spec, priority: 1.5 }],
      ["priority out of range", { group_name: group, task_spec: spec, priority: 2 ** 40 }],
      ["timeout junk", { group_name: group, task_spec: spec, timeout: "eventually" }],
      ["timeout negative", { group_name: group, task_spec: spec, timeout: "-1s" }],
      ["timeout over 100 years", { group_name: group, task_spec: spec, timeout: "1000000000d" }],
      ["tags wrong type", { group_name: group, task_spec: spec, tags: "gpu" }],
      ["watch malformed", { group_name: group, task_spec: { args: ["x"], watch: ["not-uuid", "ExecSpawned"] } }],
      ["watch unknown state", { group_name: group, task_spec: { args: ["x"], watch: [task, "Sleeping"] } }],
      ["resource unknown kind", {
        group_name: group,
        task_spec: { args: ["x"], resources: [{ remote_file: { Url: "x" }, local_path: "a" }] },
      }],
      ["artifact bad content type", {
        group_name: group,
        task_spec: {
          args: ["x"],
          resources: [{ remote_file: { Artifact: { uuid: task, content_type: "logs" } }, local_path: "a" }],
        },
      }],
      ["suite_uuid invalid", { group_name: group, task_spec: spec, suite_uuid: "abc" }],
    ]],
    ["POST", "/tasks/submit", "user", [...MALFORMED, ["tasks missing", {}], ["tasks not array", { tasks: {} }]]],
    ["POST", "/tasks/query", "user", [
      ...MALFORMED,
      ["states wrong", { states: ["Done"] }],
      ["exit_status junk", { exit_status: "== x" }],
      ["limit negative", { limit: -5 }],
      ["count wrong type", { count: "yes" }],
      ["reporter not uuid", { reporter_uuid: "x" }],
    ]],
    ["POST", "/tasks/cancel", "user", [...MALFORMED, ["labels empty", { labels: [] }]]],
    ["POST", "/tasks/cancel/list", "user", [...MALFORMED, ["uuids missing", {}], ["uuid invalid", { uuids: ["x"] }]]],
    ["PUT", `/tasks/${task}`, "user", [...MALFORMED, ["nothing to change", {}], ["spec invalid", { task_spec: {} }]]],
    ["PUT", `/tasks/${task}/labels`, "user", [...MALFORMED, ["labels missing", {}], ["labels wrong", { labels: [1] }]]],
    ["POST", `/tasks/${task}/artifacts`, "user", [
      ...MALFORMED,
      ["content_type unknown", { content_type: "video", content_length: 1 }],
      ["length negative", { content_type: "result", content_length: -1 }],
    ]],
    ["POST", "/tasks/download/artifacts", "user", [...MALFORMED, ["content_type missing", {}]]],
    ["POST", "/tasks/download/artifacts/list", "user", [...MALFORMED, ["uuids empty", {
      uuids: [],
      content_type: "result",
    }]]],
    ["POST", "/tasks/delete/artifacts", "user", [...MALFORMED, ["content_type wrong", { content_type: 3 }]]],
    ["POST", "/tasks/delete/artifacts/list", "user", [...MALFORMED, ["uuids wrong", {
      uuids: "x",
      content_type: "result",
    }]]],
    ["POST", "/workers", "user", [
      ...MALFORMED,
      ["tags wrong type", { tags: "gpu", groups: [] }],
      ["group role unknown", { tags: [], groups: [`${group}:owner`] }],
      ["lifetime junk", { tags: [], groups: [], lifetime: "forever" }],
    ]],
    ["POST", "/workers/query", "user", [...MALFORMED, ["role unknown", { role: ["Boss"] }], ["tags empty", {
      tags: [],
    }]]],
    ["POST", "/workers/shutdown", "user", [...MALFORMED, ["op unknown", { op: "Later" }]]],
    ["POST", "/workers/shutdown/list", "user", [...MALFORMED, ["uuids missing", { op: "Force" }]]],
    ["PUT", `/workers/${worker.uuid}/tags`, "user", [...MALFORMED, ["tags missing", {}]]],
    ["PUT", `/workers/${worker.uuid}/labels`, "user", [...MALFORMED, ["labels wrong", { labels: [true] }]]],
    ["PUT", `/workers/${worker.uuid}/groups`, "user", [...MALFORMED, ["relations empty", { relations: {} }], [
      "role unknown",
      { relations: { [group]: "Owner" } },
    ]]],
    ["POST", "/workers/tasks", "worker", [
      ...MALFORMED,
      ["id missing", { op: "Finish" }],
      ["op unknown", { id: 1, op: "Explode" }],
      ["commit without exit_status", { id: 1, op: { Commit: {} } }],
      ["upload bad type", { id: 1, op: { Upload: { content_type: "x", content_length: 1 } } }],
      ["two ops at once", { id: 1, op: { Commit: { exit_status: 0 }, Upload: {} } }],
    ]],
  ];
  let checked = 0;
  for (const [method, path, as, bodies] of cases) {
    for (const [label, body] of bodies) {
      const res = await call(coord.url, method, path, { token: as === "user" ? user : workerToken, body });
      const where = `${method} ${path} with ${label}`;
      assertEquals(res.status, 400, `${where}: got ${res.status} ${res.text}`);
      const msg = (res.body as { msg?: unknown }).msg;
      assertTrue(typeof msg === "string" && msg.length > 0, `${where}: no msg`);
      checked++;
    }
  }
  assertTrue(checked > 80, `only ${checked} cases`);
  for (const path of ["/tasks/nope", "/workers/nope", "/tasks/nope/download/artifacts/result"]) {
    assertEquals((await call(coord.url, "GET", path, { token: user })).status, 400, path);
  }
  assertEquals((await call(coord.url, "GET", `/tasks/${task}/download/artifacts/movie`, { token: user })).status, 400);
  const [tasks] = await coord.sql`SELECT count(*)::int AS n FROM active_tasks`;
  assertEquals(tasks.n, 1);
  const [workers] = await coord.sql`SELECT count(*)::int AS n FROM workers`;
  assertEquals(workers.n, 1);
  const [artifacts] = await coord.sql`SELECT count(*)::int AS n FROM artifacts`;
  assertEquals(artifacts.n, 0);
});
