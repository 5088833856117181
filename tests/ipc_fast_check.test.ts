/**
 * The hand-written IPC checks (`shared/ipc/fast_check.ts`) against the zod
 * schemas they stand in for: the common messages take the fast path, and on
 * thousands of mutations of them (missing, extra and retyped fields, nasty
 * values, nested changes) every message the fast path accepts is accepted
 * by the schema with an output equal to the input. Whatever the fast path
 * leaves to the schema is decoded exactly as before (`messages.ts`).
 */
import fc from "fast-check";
import {
  decodeManagerMessageFast,
  FAST_CONTENT_TYPES,
  FAST_RESULT_MESSAGES,
  fastManagerMessage,
  fastWorkerRequest,
} from "../shared/ipc/fast_check.ts";
import { decodeManagerMessage, decodeWorkerRequest } from "../shared/ipc/messages.ts";
import { ManagerReplySchema, WorkerControlSchema, WorkerRequestSchema } from "../shared/wire/ipc.ts";
import { ARTIFACT_CONTENT_TYPES, TASK_RESULT_MESSAGES } from "../shared/wire/tasks.ts";
import { assertEquals, assertTrue } from "./support/assert.ts";

const SEED = Number(Deno.env.get("MITOSIS_FUZZ_SEED") ?? Date.now() % 2 ** 31);
const encoder = new TextEncoder();

const task = (over: Record<string, unknown> = {}) => ({
  id: 42,
  uuid: "0b6a3f52-3c1e-4f6e-9d1a-5b8e2c7d9a10",
  timeout: "10m",
  spec: { args: ["true"], envs: { A: "1" }, resources: [], terminal_output: false, watch: null },
  upstream_task_uuid: null,
  attempt: 1,
  suite_uuid: "7c9e6679-7425-40de-944b-e07fc1f90ae7",
  ...over,
});

/** Valid worker requests that the fast path takes. */
const FAST_REQUESTS: Record<string, unknown>[] = [
  { type: "Hello", request_id: 0, worker_local_id: 3, secret: "s".repeat(64) },
  { type: "FetchTask", request_id: 1, worker_local_id: 3 },
  { type: "Heartbeat", request_id: 2, worker_local_id: 65_535 },
  { type: "ReportTask", request_id: 3, worker_local_id: 0, task_id: 42, op: "Finish" },
  { type: "ReportTask", request_id: 4, worker_local_id: 0, task_id: 42, op: "Cancel" },
  { type: "ReportTask", request_id: 5, worker_local_id: 0, task_id: 42, op: { Commit: { exit_status: 0, msg: null } } },
  {
    type: "ReportTask",
    request_id: 6,
    worker_local_id: 0,
    task_id: -7,
    op: { Commit: { exit_status: 768, msg: "ExecTimeout", detail: "x" } },
  },
  {
    type: "ReportTask",
    request_id: Number.MAX_SAFE_INTEGER,
    worker_local_id: 0,
    task_id: 42,
    op: { Upload: { content_type: "std-log", content_length: 0 } },
  },
];

/** Valid worker requests left to the schema. */
const SLOW_REQUESTS: Record<string, unknown>[] = [
  { type: "ReportTask", request_id: 7, worker_local_id: 0, task_id: 42, op: { Commit: { exit_status: 0 } } },
  {
    type: "ReportTask",
    request_id: 8,
    worker_local_id: 0,
    task_id: 42,
    op: { Upload: { content_type: "terminal", content_length: 10 } },
  },
  {
    type: "ReportTask",
    request_id: 9,
    worker_local_id: 0,
    task_id: 42,
    op: { Submit: { group_name: "g", task_spec: { args: ["true"] } } },
  },
  { type: "FetchTask", request_id: 10, worker_local_id: 0, extra: true },
  {
    type: "ResourceUrl",
    request_id: 11,
    worker_local_id: 0,
    task_uuid: task().uuid,
    resource: { Attachment: { key: "k" } },
  },
  { type: "TaskState", request_id: 12, worker_local_id: 0, task_uuid: task().uuid },
];

/** Valid manager → worker messages that the fast path takes. */
const FAST_MESSAGES: Record<string, unknown>[] = [
  { type: "HelloReply", request_id: 0 },
  { type: "HeartbeatReply", request_id: 2 },
  { type: "FetchTaskReply", request_id: 1, task: null },
  { type: "FetchTaskReply", request_id: 1, task: task() },
  { type: "FetchTaskReply", request_id: 1, task: task({ upstream_task_uuid: "00000000-0000-0000-0000-000000000000" }) },
  { type: "ReportTaskReply", request_id: 3, success: true },
  { type: "ReportTaskReply", request_id: 3, success: true, url: null, error: null },
  { type: "ReportTaskReply", request_id: 3, success: false, url: "http://x/y", error: "gone" },
  { type: "Error", msg: "bad" },
  { type: "Error", request_id: null, msg: "bad" },
  { type: "Error", request_id: 5, msg: "" },
  { type: "Shutdown", graceful: true },
  { type: "CancelTask", task_id: -1 },
];

/** Valid manager → worker messages left to the schema. */
const SLOW_MESSAGES: Record<string, unknown>[] = [
  {
    type: "FetchTaskReply",
    request_id: 1,
    task: task({
      spec: {
        args: ["true"],
        envs: {},
        resources: [{ remote_file: { Attachment: { key: "k" } }, local_path: "a/b" }],
        terminal_output: true,
        watch: [task().uuid, "ExecSpawned"],
      },
    }),
  },
  { type: "FetchTaskReply", request_id: 1, task: task({ spec: { args: ["true"] } }) },
  { type: "ResourceUrlReply", request_id: 4, status: "Ok", url: "http://x", size: 3 },
  { type: "TaskStateReply", request_id: 4, status: "NotFound" },
  { type: "Shutdown", graceful: false, extra: 1 },
];

const NASTY: unknown[] = [
  null,
  undefined,
  true,
  0,
  -1,
  1.5,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 53,
  65_536,
  NaN,
  "",
  "\u0000",
  "\ud800",
  "x".repeat(257),
  "Finish",
  "result",
  "terminal",
  "ExecTimeout",
  "not-a-uuid",
  "0b6a3f52-3c1e-4f6e-9d1a-5b8e2c7d9a1",
  "0b6a3f52-3c1e-0f6e-9d1a-5b8e2c7d9a10",
  [],
  ["true"],
  [1],
  {},
  { Commit: { exit_status: 0, msg: null } },
  { Upload: { content_type: "exec", content_length: 1 } },
  { args: [], envs: {}, resources: [], terminal_output: false, watch: null },
];

/** Every path to a value inside `value` (objects and arrays), the root included. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (typeof value === "object" && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      out.push(...paths(child, [...prefix, Array.isArray(value) ? Number(key) : key]));
    }
  }
  return out;
}

/** A deep copy of `base` with one change at `path`. */
function mutate(
  base: unknown,
  path: (string | number)[],
  change: "delete" | "replace" | "add",
  value: unknown,
  key: string,
): unknown {
  const copy = structuredClone(base);
  if (path.length === 0) return change === "replace" ? value : copy;
  let parent = copy as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (change === "delete") {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (change === "replace") parent[last] = value;
  else {
    const target = parent[last];
    if (typeof target === "object" && target !== null && !Array.isArray(target)) {
      (target as Record<string, unknown>)[key] = value;
    } else if (Array.isArray(target)) target.push(value);
    else parent[last] = value;
  }
  return copy;
}

/** What the tests need of a schema. */
interface Schema {
  safeParse(value: unknown): { success: boolean; data?: unknown };
}

/** Checks the fast path against the schema for one (JSON round-tripped) message. */
function agree(
  message: unknown,
  fast: (fields: Record<string, unknown>) => unknown,
  schema: Schema,
): "fast" | "slow" {
  const text = JSON.stringify(message);
  if (text === undefined) return "slow";
  const fields = JSON.parse(text);
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) return "slow";
  const taken = fast(fields);
  if (taken === null) return "slow";
  const parsed = schema.safeParse(JSON.parse(text));
  assertTrue(parsed.success, `the fast path took what the schema refuses: ${text}`);
  assertEquals(parsed.data, fields, `the schema changes what the fast path took: ${text}`);
  return "fast";
}

const fastReply = (fields: Record<string, unknown>) => {
  const found = fastManagerMessage(fields);
  return found === null ? null : found.kind === "reply" ? found.reply : found.control;
};
const managerSchema: Schema = {
  safeParse: (value: unknown) => {
    const control = WorkerControlSchema.safeParse(value);
    return control.success ? control : ManagerReplySchema.safeParse(value);
  },
};

Deno.test("fast check: the lists it keeps equal those of the wire schemas", () => {
  assertEquals([...FAST_RESULT_MESSAGES].sort(), [...TASK_RESULT_MESSAGES].sort());
  assertEquals([...FAST_CONTENT_TYPES].sort(), [...ARTIFACT_CONTENT_TYPES].sort());
});

Deno.test("fast check: the common messages take the fast path, the others the schema, with equal results", () => {
  for (const message of FAST_REQUESTS) assertEquals(agree(message, fastWorkerRequest, WorkerRequestSchema), "fast");
  for (const message of SLOW_REQUESTS) {
    assertEquals(agree(message, fastWorkerRequest, WorkerRequestSchema), "slow");
    assertTrue(WorkerRequestSchema.safeParse(message).success, JSON.stringify(message));
  }
  for (const message of FAST_MESSAGES) assertEquals(agree(message, fastReply, managerSchema), "fast");
  for (const message of SLOW_MESSAGES) {
    assertEquals(agree(message, fastReply, managerSchema), "slow");
    assertTrue(managerSchema.safeParse(message).success, JSON.stringify(message));
    // The worker's decoder leaves it to the schema decoder, which accepts it.
    const body = encoder.encode(JSON.stringify(message));
    assertEquals(decodeManagerMessageFast(body), null);
    assertTrue(decodeManagerMessage(body).ok, JSON.stringify(message));
  }
  for (const message of [...FAST_REQUESTS, ...SLOW_REQUESTS]) {
    assertTrue(decodeWorkerRequest(encoder.encode(JSON.stringify(message))).ok, JSON.stringify(message));
  }
});

Deno.test("fast check: no mutation of a valid message is taken by the fast path unless the schema takes it unchanged", () => {
  console.log(`fast check seed ${SEED} (MITOSIS_FUZZ_SEED to replay)`);
  const cases: [Record<string, unknown>[], (fields: Record<string, unknown>) => unknown, Schema][] = [
    [[...FAST_REQUESTS, ...SLOW_REQUESTS], fastWorkerRequest, WorkerRequestSchema],
    [[...FAST_MESSAGES, ...SLOW_MESSAGES], fastReply, managerSchema],
  ];
  let fast = 0;
  let total = 0;
  for (const [bases, check, schema] of cases) {
    const mutation = fc.constantFrom(...bases).chain((base) =>
      fc.tuple(
        fc.constant(base),
        fc.constantFrom(...paths(base)),
        fc.constantFrom("delete" as const, "replace" as const, "add" as const),
        fc.oneof(fc.constantFrom(...NASTY), fc.jsonValue({ maxDepth: 2 })),
        fc.constantFrom("extra", "msg", "url", "detail", "request_id", "type", "__proto__", "success", "task"),
      )
    );
    for (const [base, path, change, value, key] of fc.sample(mutation, { numRuns: 4_000, seed: SEED })) {
      const message = mutate(base, path, change, value, key);
      if (agree(message, check, schema) === "fast") fast++;
      total++;
    }
  }
  // Both outcomes occur: the mutations reach past the fast path's first refusal.
  assertTrue(fast > 100 && fast < total - 100, `${fast} of ${total} mutations took the fast path`);
});

Deno.test("fast check: the worker's decoder answers what the schema decoder answers", () => {
  const bodies = [
    ...[...FAST_MESSAGES, ...SLOW_MESSAGES].map((m) => JSON.stringify(m)),
    "",
    "{",
    "[]",
    "null",
    '"x"',
    "{}",
    '{"type": 1}',
    '{"type": "Nope", "request_id": 1}',
    '{"type": "FetchTaskReply", "request_id": -1, "task": null}',
    '{"type": "Shutdown"}',
  ].map((text) => encoder.encode(text));
  bodies.push(new Uint8Array([0xff, 0xfe]));
  for (const body of bodies) {
    const fastDecoded = decodeManagerMessageFast(body);
    const full = decodeManagerMessage(body);
    if (fastDecoded !== null) assertEquals(fastDecoded, full);
    else assertTrue(full.ok || full.msg.startsWith("invalid "), JSON.stringify(full));
  }
});

Deno.test("fast check: an own __proto__ key (JSON can carry one) is left to the schema", () => {
  const text = JSON.stringify({ type: "FetchTaskReply", request_id: 1, task: task() }).replace(
    '"envs":{"A":"1"}',
    '"envs":{"__proto__":"x","A":"1"}',
  );
  const fields = JSON.parse(text);
  assertTrue(Object.hasOwn(fields.task.spec.envs, "__proto__"));
  assertEquals(fastManagerMessage(fields), null);
  assertTrue(decodeManagerMessage(encoder.encode(text)).ok);
  const withKey = JSON.parse(JSON.stringify(FAST_REQUESTS[1]).replace("{", '{"__proto__":{},'));
  assertEquals(fastWorkerRequest(withKey), null);
});
