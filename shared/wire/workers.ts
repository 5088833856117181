/**
 * Wire schemas of independent workers: registration, task fetch and report,
 * and user/admin worker management.
 */
import { z } from "zod";
import { GROUP_WORKER_ROLES, GroupWorkerRoleSchema, NameSchema } from "./common.ts";
import {
  ArtifactContentTypeSchema,
  DurationStringSchema,
  SubmitTaskReqSchema,
  TASK_STATES,
  TaskResultSpecSchema,
  TaskSpecSchema,
} from "./tasks.ts";

/** Worker states with database codes Normal=0, GracefulShutdown=1. */
export const WORKER_STATES = ["Normal", "GracefulShutdown"] as const;
/** A worker state. */
export type WorkerState = typeof WORKER_STATES[number];

/** `group` or `group:role` (role Read/Write/Admin, any case; default Write). */
export const WorkerGroupSpecSchema = z.string().transform((value, ctx) => {
  const [name, role, extra] = value.split(":");
  const parsedName = NameSchema.safeParse(name);
  const parsedRole = GroupWorkerRoleSchema.safeParse(role ?? "Write");
  if (extra !== undefined || !parsedName.success || !parsedRole.success) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not group or group:role (Read, Write, Admin)` });
    return z.NEVER;
  }
  return { group: parsedName.data, role: parsedRole.data };
});

/** `POST /workers` request. */
export const RegisterWorkerReqSchema = z.object({
  tags: z.array(z.string()).default([]),
  labels: z.array(z.string()).default([]),
  groups: z.array(WorkerGroupSpecSchema).default([]),
  lifetime: DurationStringSchema.nullable().optional(),
});
/** Worker registration (input shape). */
export type RegisterWorkerReq = z.input<typeof RegisterWorkerReqSchema>;

/** `POST /workers` response. */
export const RegisterWorkerRespSchema = z.object({
  worker_id: z.uuid(),
  token: z.string(),
  redis_url: z.string().nullable(),
});
/** Registration result. */
export type RegisterWorkerResp = z.infer<typeof RegisterWorkerRespSchema>;

/** A task handed to a worker (`GET /workers/tasks`, or `null` when none). */
export const WorkerTaskRespSchema = z.object({
  id: z.number().int(),
  uuid: z.uuid(),
  /** Human duration, e.g. `10m`. */
  timeout: z.string(),
  spec: TaskSpecSchema,
  upstream_task_uuid: z.uuid().nullable(),
  /** Present on `GET /workers/tasks/{uuid}`: the task's state, so `watch` works without Redis. */
  state: z.enum(TASK_STATES).optional(),
  /** Present on `GET /workers/tasks/{uuid}`: non-null once the task is committed. */
  result: TaskResultSpecSchema.nullable().optional(),
});
/** A task to run. */
export type WorkerTaskResp = z.output<typeof WorkerTaskRespSchema>;

/** A worker's report on its task (externally tagged, as in the existing Mitosis). */
export const ReportTaskOpSchema = z.union([
  z.literal("Finish"),
  z.literal("Cancel"),
  z.object({ Commit: TaskResultSpecSchema }).strict(),
  z.object({
    Upload: z.object({
      content_type: ArtifactContentTypeSchema,
      content_length: z.number().int().min(0),
    }),
  }).strict(),
  z.object({ Submit: SubmitTaskReqSchema }).strict(),
]);
/** A report operation (input shape). */
export type ReportTaskOp = z.input<typeof ReportTaskOpSchema>;

/** `POST /workers/tasks` request. */
export const ReportTaskReqSchema = z.object({ id: z.number().int(), op: ReportTaskOpSchema });
/** A task report (input shape). */
export type ReportTaskReq = z.input<typeof ReportTaskReqSchema>;

/** `POST /workers/tasks` response: a presigned URL for `Upload`, else null. */
export const ReportTaskRespSchema = z.object({ url: z.string().nullable() });
/** Report response. */
export type ReportTaskResp = z.infer<typeof ReportTaskRespSchema>;

/** `POST /workers/query` request. */
export const WorkersQueryReqSchema = z.object({
  group_name: z.string().min(1).nullable().optional(),
  role: z.array(GroupWorkerRoleSchema).min(1).nullable().optional(),
  tags: z.array(z.string()).min(1).nullable().optional(),
  labels: z.array(z.string()).min(1).nullable().optional(),
  creator_username: z.string().min(1).nullable().optional(),
  count: z.boolean().default(false),
});
/** A worker query (input shape). */
export type WorkersQueryReq = z.input<typeof WorkersQueryReqSchema>;

/** One worker as listed. */
export const WorkerQueryInfoSchema = z.object({
  worker_id: z.uuid(),
  creator_username: z.string(),
  tags: z.array(z.string()),
  labels: z.array(z.string()),
  created_at: z.string(),
  updated_at: z.string(),
  state: z.enum(WORKER_STATES),
  last_heartbeat: z.string(),
  assigned_task_id: z.uuid().nullable(),
});
/** Worker info. */
export type WorkerQueryInfo = z.infer<typeof WorkerQueryInfoSchema>;

/** `GET /workers/{uuid}` response. */
export const WorkerQueryRespSchema = z.object({
  info: WorkerQueryInfoSchema,
  groups: z.record(z.string(), z.enum(GROUP_WORKER_ROLES)),
});
/** A worker with its group roles. */
export type WorkerQueryResp = z.infer<typeof WorkerQueryRespSchema>;

/** `POST /workers/query` response. */
export const WorkersQueryRespSchema = z.object({
  count: z.number().int(),
  workers: z.array(WorkerQueryInfoSchema),
  group_name: z.string(),
});
/** Worker query results. */
export type WorkersQueryResp = z.infer<typeof WorkersQueryRespSchema>;

/** `PUT /workers/{uuid}/tags` request. */
export const ReplaceWorkerTagsReqSchema = z.object({ tags: z.array(z.string()) });
/** `PUT /workers/{uuid}/labels` request. */
export const ReplaceWorkerLabelsReqSchema = z.object({ labels: z.array(z.string()) });
/** `PUT /workers/{uuid}/groups` request: group → role. */
export const UpdateGroupWorkerRoleReqSchema = z.object({
  relations: z.record(NameSchema, GroupWorkerRoleSchema).refine((r) => Object.keys(r).length > 0, {
    message: "must name at least one group",
  }),
});
/** `DELETE /workers/{uuid}/groups/remove` body. */
export const RemoveGroupWorkerRoleReqSchema = z.object({ groups: z.array(NameSchema).min(1) });

/** How to stop a worker: finish the current task first, or now. */
export const WORKER_SHUTDOWN_OPS = ["Graceful", "Force"] as const;
/** A shutdown operation (any case on input). */
export const WorkerShutdownOpSchema = z.string().transform((value, ctx): typeof WORKER_SHUTDOWN_OPS[number] => {
  const v = value.toLowerCase();
  if (v === "graceful") return "Graceful";
  if (v === "force") return "Force";
  ctx.addIssue({ code: "custom", message: "expected Graceful or Force" });
  return z.NEVER;
});

/** `POST /workers/shutdown` request. */
export const WorkersShutdownByFilterReqSchema = WorkersQueryReqSchema.omit({ count: true }).extend({
  op: WorkerShutdownOpSchema.default("Graceful"),
});
/** `POST /workers/shutdown` response. */
export const WorkersShutdownByFilterRespSchema = z.object({ shutdown_count: z.number().int(), group_name: z.string() });
/** `POST /workers/shutdown/list` request. */
export const WorkersShutdownByUuidsReqSchema = z.object({
  uuids: z.array(z.uuid()).min(1),
  op: WorkerShutdownOpSchema.default("Graceful"),
});
/** `POST /workers/shutdown/list` response. */
export const WorkersShutdownByUuidsRespSchema = z.object({
  shutdown_count: z.number().int(),
  failed_uuids: z.array(z.uuid()),
});
