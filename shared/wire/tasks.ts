/**
 * Wire schemas of tasks: specs, submission, queries, results, cancellation.
 * Enum spellings and field names follow the existing Mitosis v0.6.8.
 */
import { z } from "zod";
import { parseDuration } from "../config/duration.ts";

/** Task states with database codes Pending=0 … Unknown=5. */
export const TASK_STATES = ["Pending", "Ready", "Running", "Finished", "Cancelled", "Unknown"] as const;
/** A task state. */
export type TaskState = typeof TASK_STATES[number];
/** Database code of each task state. */
export const TaskStateCode = {
  Pending: 0,
  Ready: 1,
  Running: 2,
  Finished: 3,
  Cancelled: 4,
  Unknown: 5,
} as const satisfies Record<TaskState, number>;

/** Fine-grained execution states (used by `watch`), with the existing integer codes. */
export const TaskExecStateCode = {
  WorkerExited: -1,
  FetchResource: 1,
  FetchResourceFinished: 2,
  FetchResourceError: 3,
  FetchResourceTimeout: 4,
  FetchResourceNotFound: 5,
  FetchResourceForbidden: 6,
  Watch: 7,
  WatchFinished: 8,
  WatchTimeout: 9,
  ExecPending: 10,
  ExecSpawned: 11,
  ExecFinished: 12,
  ExecTimeout: 13,
  UploadResult: 14,
  UploadFinishedResult: 15,
  UploadCancelledResult: 16,
  UploadResultFinished: 17,
  UploadResultTimeout: 18,
  TaskCommitted: 19,
  Unknown: -99,
} as const;
/** A fine-grained execution state name. */
export type TaskExecState = keyof typeof TaskExecStateCode;
/** Execution state names. */
export const TASK_EXEC_STATES = Object.keys(TaskExecStateCode) as [TaskExecState, ...TaskExecState[]];

/** Why a task ended without a normal result. */
export const TASK_RESULT_MESSAGES = [
  "FetchResourceTimeout",
  "ExecTimeout",
  "UploadResultTimeout",
  "ResourceNotFound",
  "ResourceForbidden",
  "WatchTimeout",
  "UserCancellation",
  "SubmitNewTaskFailed",
] as const;
/** A result message. */
export type TaskResultMessage = typeof TASK_RESULT_MESSAGES[number];

/** Artifact kinds with database codes result=0, exec-log=1, std-log=2. */
export const ARTIFACT_CONTENT_TYPES = ["result", "exec-log", "std-log"] as const;
/** An artifact kind. */
export type ArtifactContentType = typeof ARTIFACT_CONTENT_TYPES[number];

const ARTIFACT_ALIASES: Record<string, ArtifactContentType> = {
  result: "result",
  results: "result",
  "exec-log": "exec-log",
  exec_log: "exec-log",
  execlog: "exec-log",
  exec: "exec-log",
  "std-log": "std-log",
  std_log: "std-log",
  stdlog: "std-log",
  std: "std-log",
  terminal: "std-log",
};

/** Artifact kind; accepts the existing aliases (`exec`, `std`, `terminal`, any case). */
export const ArtifactContentTypeSchema = z.string().transform((value, ctx): ArtifactContentType => {
  const found = ARTIFACT_ALIASES[value.toLowerCase()];
  if (found === undefined) {
    ctx.addIssue({ code: "custom", message: `expected one of ${ARTIFACT_CONTENT_TYPES.join(", ")}` });
    return z.NEVER;
  }
  return found;
});

/** Smallest value of a PostgreSQL `integer` (int4) column. */
export const INT4_MIN = -(2 ** 31);
/** Largest value of a PostgreSQL `integer` (int4) column. */
export const INT4_MAX = 2 ** 31 - 1;

/** An integer that fits a PostgreSQL `integer` column. */
export const Int4Schema = z.number().int().min(INT4_MIN).max(INT4_MAX);

/** Longest duration accepted on the wire: 100 years (timeouts, token lifetimes). */
export const MAX_WIRE_DURATION_MS = 100 * 365.25 * 86_400_000;

const DURATION_EXAMPLES = "such as 90s, 10m or 2h, at most 100 years";

/** A human duration string (`10m`, `2h`), kept as written: positive, at most 100 years. */
export const DurationStringSchema = z.string().refine((s) => {
  const ms = parseDuration(s);
  return ms !== null && ms > 0 && ms <= MAX_WIRE_DURATION_MS;
}, `must be a positive duration ${DURATION_EXAMPLES}`);

/** Timeout of a task when none is given, or when `0s` is given. */
export const DEFAULT_TASK_TIMEOUT = "10m";

/**
 * A task timeout. Like v0.6.8, a zero duration (`"0s"`) is accepted; it
 * means "no timeout given" and becomes the default of 10 minutes (v0.6.8
 * passed it on and the task timed out at once).
 */
export const TaskTimeoutSchema = z.string().refine((s) => {
  const ms = parseDuration(s);
  return ms !== null && ms >= 0 && ms <= MAX_WIRE_DURATION_MS;
}, `must be a duration ${DURATION_EXAMPLES}`).transform((s) => (parseDuration(s) === 0 ? DEFAULT_TASK_TIMEOUT : s));

/** A path relative to the resource directory: no `..`, not absolute, not empty. */
export const LocalPathSchema = z.string().min(1, "must not be empty").refine(
  (p) => !p.startsWith("/") && !p.split(/[/\\]/).includes("..") && !p.includes("\0"),
  "must be a relative path without '..'",
);

/** Where a resource comes from: a task artifact or a group attachment. */
export const RemoteResourceSchema = z.union([
  z.object({ Artifact: z.object({ uuid: z.uuid(), content_type: ArtifactContentTypeSchema }) }).strict(),
  z.object({ Attachment: z.object({ key: z.string().min(1) }) }).strict(),
]);
/** A remote resource reference. */
export type RemoteResource = z.output<typeof RemoteResourceSchema>;

/** A resource downloaded into the task's resource directory before it runs. */
export const RemoteResourceDownloadSchema = z.object({
  remote_file: RemoteResourceSchema,
  local_path: LocalPathSchema,
});
/** A resource download. */
export type RemoteResourceDownload = z.output<typeof RemoteResourceDownloadSchema>;

/** `[task uuid, exec state]`: start only once that task reaches that state. */
export const WatchSchema = z.tuple([z.uuid(), z.enum(TASK_EXEC_STATES)]);

/** What to run. Omitted optional fields get their defaults, so stored specs are complete. */
export const TaskSpecSchema = z.object({
  args: z.array(z.string()).min(1, "must hold at least the program to run"),
  envs: z.record(z.string(), z.string()).default({}),
  resources: z.array(RemoteResourceDownloadSchema).default([]),
  terminal_output: z.boolean().default(false),
  watch: WatchSchema.nullable().default(null),
});
/** A complete task spec. */
export type TaskSpec = z.output<typeof TaskSpecSchema>;

/** `POST /tasks` request; `tags`, `labels`, `timeout` and `priority` may be omitted. */
export const SubmitTaskReqSchema = z.object({
  group_name: z.string().min(1),
  tags: z.array(z.string()).default([]),
  labels: z.array(z.string()).default([]),
  timeout: TaskTimeoutSchema.default(DEFAULT_TASK_TIMEOUT),
  priority: Int4Schema.default(0),
  task_spec: TaskSpecSchema,
  suite_uuid: z.uuid().nullable().optional(),
});
/** A task submission (input shape). */
export type SubmitTaskReq = z.input<typeof SubmitTaskReqSchema>;
/** A validated task submission. */
export type ValidSubmitTaskReq = z.output<typeof SubmitTaskReqSchema>;

/** `POST /tasks` response. */
export const SubmitTaskRespSchema = z.object({ task_id: z.number().int(), uuid: z.uuid() });
/** A submitted task's ids. */
export type SubmitTaskResp = z.infer<typeof SubmitTaskRespSchema>;

/** `POST /tasks/submit` request: items are validated one by one. */
export const TasksSubmitReqSchema = z.object({ tasks: z.array(z.unknown()).min(1).max(10_000) });
/** Per-item batch result: `{"Ok": …}` or `{"Err": {"msg"}}`. */
export const TaskSubmitResultSchema = z.union([
  z.object({ Ok: SubmitTaskRespSchema }),
  z.object({ Err: z.object({ msg: z.string() }) }),
]);
/** A batch item result. */
export type TaskSubmitResult = z.infer<typeof TaskSubmitResultSchema>;
/** `POST /tasks/submit` response. */
export const TasksSubmitRespSchema = z.object({ results: z.array(TaskSubmitResultSchema) });

/** `PUT /tasks/{uuid}` request: at least one field. */
export const ChangeTaskReqSchema = z.object({
  tags: z.array(z.string()).nullable().optional(),
  timeout: TaskTimeoutSchema.nullable().optional(),
  priority: Int4Schema.nullable().optional(),
  task_spec: TaskSpecSchema.nullable().optional(),
}).refine((r) => r.tags != null || r.timeout != null || r.priority != null || r.task_spec != null, {
  message: "change at least one of tags, timeout, priority, task_spec",
});
/** A change to a Ready task. */
export type ChangeTaskReq = z.input<typeof ChangeTaskReqSchema>;

/** `PUT /tasks/{uuid}/labels` request. */
export const UpdateTaskLabelsReqSchema = z.object({ labels: z.array(z.string()) });

/** A task's final result: raw wait status (exit code 3 → 768, an i32 as in v0.6.8) and an optional reason. */
export const TaskResultSpecSchema = z.object({
  exit_status: Int4Schema,
  msg: z.enum(TASK_RESULT_MESSAGES).nullable().default(null),
  /**
   * Free-form explanation added by the coordinator where `msg` has no fitting
   * variant, e.g. a suite task aborted on every eligible manager. Optional, so
   * results of the existing Mitosis stay valid.
   */
  detail: z.string().max(65_536).nullable().optional(),
});
/** A task result. */
export type TaskResultSpec = z.output<typeof TaskResultSpecSchema>;

/** A comparison on an integer (int4) column: `"= 0"`, `">=5"`, `"!= 256"`, or just `"3"`. */
export const ComparisonSchema = z.string().transform((value, ctx) => {
  const m = /^\s*(=|==|!=|<>|<=|>=|<|>)?\s*(-?\d+)\s*$/.exec(value);
  if (!m) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a comparison such as "= 0", ">= 5" or "!= 256"` });
    return z.NEVER;
  }
  if (!Int4Schema.safeParse(Number(m[2])).success) {
    ctx.addIssue({ code: "custom", message: `${m[2]} is out of range (${INT4_MIN} to ${INT4_MAX})` });
    return z.NEVER;
  }
  const op = ({ "==": "=", "<>": "!=" } as Record<string, string>)[m[1] ?? "="] ?? m[1] ?? "=";
  return { op: op as "=" | "!=" | "<" | "<=" | ">" | ">=", value: Number(m[2]) };
});
/** A parsed comparison. */
export type Comparison = z.output<typeof ComparisonSchema>;

const nonEmpty = <T extends z.ZodType>(item: T) => z.array(item).min(1, "must not be an empty set");

/** Filters shared by task queries, cancel-by-filter and artifact batch operations. */
export const TaskFilterSchema = z.object({
  creator_usernames: nonEmpty(z.string()).nullable().optional(),
  group_name: z.string().min(1).nullable().optional(),
  tags: nonEmpty(z.string()).nullable().optional(),
  labels: nonEmpty(z.string()).nullable().optional(),
  states: nonEmpty(z.enum(TASK_STATES)).nullable().optional(),
  exit_status: ComparisonSchema.nullable().optional(),
  priority: ComparisonSchema.nullable().optional(),
  reporter_uuid: z.uuid().nullable().optional(),
});
/** Validated task filters. */
export type TaskFilter = z.output<typeof TaskFilterSchema>;

/** `POST /tasks/query` request. */
export const TasksQueryReqSchema = TaskFilterSchema.extend({
  limit: z.number().int().min(0).nullable().optional(),
  offset: z.number().int().min(0).nullable().optional(),
  count: z.boolean().default(false),
});
/** A task query (input shape). */
export type TasksQueryReq = z.input<typeof TasksQueryReqSchema>;

/** One task in query results; `spec` and `result` as stored. */
export const TaskQueryInfoSchema = z.object({
  uuid: z.uuid(),
  reporter_uuid: z.uuid().nullable(),
  creator_username: z.string(),
  group_name: z.string(),
  task_id: z.number().int(),
  tags: z.array(z.string()),
  labels: z.array(z.string()),
  created_at: z.string(),
  updated_at: z.string(),
  state: z.enum(TASK_STATES),
  timeout: z.number().int(),
  priority: z.number().int(),
  spec: TaskSpecSchema,
  result: TaskResultSpecSchema.nullable(),
  upstream_task_uuid: z.uuid().nullable(),
  downstream_task_uuid: z.uuid().nullable(),
});
/** A task as listed. */
export type TaskQueryInfo = z.output<typeof TaskQueryInfoSchema>;

/** `POST /tasks/query` response (`tasks` empty when only counting). */
export const TasksQueryRespSchema = z.object({
  count: z.number().int(),
  tasks: z.array(TaskQueryInfoSchema),
  group_name: z.string(),
});
/** Task query results. */
export type TasksQueryResp = z.output<typeof TasksQueryRespSchema>;

/** An artifact's metadata. */
export const ArtifactQueryRespSchema = z.object({
  content_type: z.enum(ARTIFACT_CONTENT_TYPES),
  size: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
/** Artifact metadata. */
export type ArtifactQueryResp = z.infer<typeof ArtifactQueryRespSchema>;

/** `GET /tasks/{uuid}` response. */
export const TaskQueryRespSchema = z.object({
  info: TaskQueryInfoSchema,
  artifacts: z.array(ArtifactQueryRespSchema),
});
/** A task with its artifacts. */
export type TaskQueryResp = z.output<typeof TaskQueryRespSchema>;

/** `POST /tasks/cancel` request: filters (only Ready tasks are cancelled). */
export const TasksCancelByFilterReqSchema = TaskFilterSchema;
/** `POST /tasks/cancel` response. */
export const TasksCancelByFilterRespSchema = z.object({ cancelled_count: z.number().int(), group_name: z.string() });
/** `POST /tasks/cancel/list` request. */
export const TasksCancelByUuidsReqSchema = z.object({ uuids: z.array(z.uuid()).min(1) });
/** `POST /tasks/cancel/list` response. */
export const TasksCancelByUuidsRespSchema = z.object({
  cancelled_count: z.number().int(),
  failed_uuids: z.array(z.uuid()),
});
