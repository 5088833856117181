/**
 * Text the database cannot store (NUL, lone UTF-16 surrogates), integers
 * past their column's range and absurd durations are refused with 400 (or an
 * `Error` naming the field over the WebSocket and IPC), never a 500 or an
 * "internal error", and leave nothing behind that breaks later queries.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { noopTask, registerWorker } from "./support/workers_api.ts";
import { registerManager, WsManager } from "./support/ws_manager.ts";
import { md5Array } from "../shared/client/md5.ts";
import { decodeWorkerRequest } from "../shared/ipc/messages.ts";
import { findTextProblem } from "../shared/wire/text.ts";

const md5 = md5Array("pw");
/** A JSON string literal holding a lone high surrogate, as a client could send it. */
const LONE = '"a\\ud800b"';
/** A JSON string literal holding a NUL. */
const NUL = '"a\\u0000b"';

function msgOf(body: unknown): string {
  return typeof body === "object" && body !== null && typeof (body as { msg?: unknown }).msg === "string"
    ? (body as { msg: string }).msg
    : "";
}

test("NUL or a lone surrogate in any string of a body, path or query is 400 naming the field", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const user = await createUser(coord.url, admin, "u1", "pw");
  const worker = await registerWorker(coord.url, user);
  const task = (await call(coord.url, "POST", "/tasks", { token: user, body: noopTask("u1") })).body as {
    uuid: string;
  };
  type Case = [method: string, path: string, token: string | undefined, body: string | undefined, field: string];
  const cases: Case[] = [];
  for (const bad of [NUL, LONE]) {
    cases.push(
      ["POST", "/login", undefined, `{"username": ${bad}, "md5_password": ${JSON.stringify(md5)}}`, "username"],
      ["POST", "/groups", user, `{"group_name": ${bad}}`, "group_name"],
      ["POST", "/tasks", user, `{"group_name": "u1", "task_spec": {"args": ["x", ${bad}]}}`, "task_spec.args.1"],
      ["POST", "/tasks", user, `{"group_name": "u1", "task_spec": {"args": ["x"], "envs": {${bad}: "v"}}}`, "key"],
      ["POST", "/tasks/query", user, `{"tags": [${bad}]}`, "tags.0"],
      ["PUT", `/tasks/${task.uuid}/labels`, user, `{"labels": [${bad}]}`, "labels.0"],
      ["POST", "/workers", user, `{"tags": [${bad}], "groups": []}`, "tags.0"],
      ["POST", "/managers", user, `{"tags": [], "labels": [${bad}], "groups": []}`, "labels.0"],
      ["POST", "/suites", user, `{"group_name": "u1", "name": ${bad}, "worker_schedule": {"worker_count": 1}}`, "name"],
      ["POST", "/groups/u1/attachments/query", user, `{"key": ${bad}}`, "key"],
      [
        "POST",
        "/admin/users",
        admin,
        `{"username": ${bad}, "md5_password": ${JSON.stringify(md5)}, "admin": false}`,
        "username",
      ],
      [
        "POST",
        "/workers/tasks",
        worker.token,
        `{"id": 1, "op": {"Commit": {"exit_status": 0, "detail": ${bad}}}}`,
        "detail",
      ],
    );
  }
  cases.push(
    ["GET", "/groups/a%00b", user, undefined, "path"],
    ["GET", "/suites?group_name=a%00b", user, undefined, "group_name"],
    ["GET", "/managers?tags=a%00", user, undefined, "tags"],
    ["GET", "/groups/u1/attachments/x%00y", user, undefined, "path"],
  );
  for (const [method, path, token, body, field] of cases) {
    const res = await call(coord.url, method, path, { token, body });
    const where = `${method} ${path} ${body ?? ""}`;
    assertEquals(res.status, 400, `${where}: ${res.status} ${res.text}`);
    const msg = msgOf(res.body);
    assertTrue(msg.includes(field), `${where}: msg does not name ${field}: ${msg}`);
    assertTrue(/NUL|surrogate/.test(msg), `${where}: msg does not name the problem: ${msg}`);
  }
  assertEquals((await call(coord.url, "GET", "/health")).status, 200);
});

test("integers past their int4 column and durations past 100 years are 400; a huge exit status poisons nothing", async () => {
  await using coord = await startTestCoordinator();
  const user = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const group = ADMIN.username;
  const bad: [string, string, unknown][] = [
    ["POST", "/tasks/query", { exit_status: "= 99999999999" }],
    ["POST", "/tasks/query", { priority: "< -99999999999" }],
    ["POST", "/tasks/cancel", { group_name: group, exit_status: ">= 2147483648" }],
    ["POST", "/managers", { tags: [], labels: [], groups: [], lifetime: "1000000000d" }],
    ["POST", "/workers", { tags: [], groups: [], lifetime: "1000000000d" }],
    ["POST", "/tasks", noopTask(group, { timeout: "1000000000d" })],
  ];
  for (const [method, path, body] of bad) {
    const res = await call(coord.url, method, path, { token: user, body });
    assertEquals(res.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${res.status} ${res.text}`);
    assertTrue(msgOf(res.body).length > 0);
  }
  // A worker committing an exit status past i32 is refused, so exit-status filters keep working.
  await call(coord.url, "POST", "/tasks", { token: user, body: noopTask(group) });
  const worker = await registerWorker(coord.url, user);
  const fetched = await worker.fetch();
  assertTrue(fetched !== null);
  assertEquals((await worker.report(fetched.id, "Finish")).status, 200);
  const huge = await worker.report(fetched.id, { Commit: { exit_status: 2 ** 40, msg: null } });
  assertEquals(huge.status, 400, JSON.stringify(huge.body));
  assertTrue(msgOf(huge.body).includes("exit_status"), msgOf(huge.body));
  assertEquals((await worker.report(fetched.id, { Commit: { exit_status: 256, msg: null } })).status, 200);
  const query = await call(coord.url, "POST", "/tasks/query", { token: user, body: { exit_status: "= 256" } });
  assertEquals(query.status, 200, query.text);
  assertEquals((query.body as { count: number }).count, 1);
});

test("over the WebSocket, NUL in ReportFailure answers an Error naming the field, not an internal error", async () => {
  await using coord = await startTestCoordinator();
  const user = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const creds = await registerManager(coord.url, user);
  await using manager = await WsManager.connect(coord.url, creds);
  const reply = await manager.request({
    type: "ReportFailure",
    task_uuid: crypto.randomUUID(),
    failure_count: 1,
    error_message: "segfault\u0000here",
  });
  assertEquals(reply.type, "Error");
  const msg = (reply as { msg: string }).msg;
  assertTrue(msg.includes("error_message") && msg.includes("NUL"), msg);
  assertTrue(!msg.includes("internal error"), msg);
  const lone = await manager.request({ type: "AbortTask", task_uuid: crypto.randomUUID(), reason: "x\ud800" });
  assertEquals(lone.type, "Error");
  assertTrue((lone as { msg: string }).msg.includes("reason"), JSON.stringify(lone));
  assertTrue(manager.open);
});

test("an IPC request with NUL text is answered with an Error naming the field", () => {
  const body = new TextEncoder().encode(
    `{"type": "ResourceUrl", "request_id": 7, "worker_local_id": 0, "task_uuid": "${crypto.randomUUID()}",` +
      ` "resource": {"Attachment": {"key": "a\\u0000"}}}`,
  );
  const decoded = decodeWorkerRequest(body);
  assertEquals(decoded.ok, false);
  if (decoded.ok) return;
  assertEquals(decoded.request_id, 7);
  assertTrue(decoded.msg.includes("resource.Attachment.key") && decoded.msg.includes("NUL"), decoded.msg);
});

test("nesting deeper than the limit is refused without recursion", () => {
  let deep: unknown = "x";
  for (let i = 0; i < 100_000; i++) deep = [deep];
  const found = findTextProblem(deep);
  assertTrue(found !== null && found.problem.includes("nested deeper"), JSON.stringify(found));
  assertEquals(findTextProblem({ a: [{ b: "fine \u{1F600}" }] }), null);
});
