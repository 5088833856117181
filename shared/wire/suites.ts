/**
 * Wire schemas of task suites (SPEC §5.2): creation, details, queries,
 * cancellation and manager assignment.
 */
import { z } from "zod";
import { NameSchema } from "./common.ts";
import { DurationStringSchema, RemoteResourceDownloadSchema } from "./tasks.ts";

/** Suite states with database codes Open=0, Closed=1, Complete=2, Cancelled=3. */
export const TASK_SUITE_STATES = ["Open", "Closed", "Complete", "Cancelled"] as const;
/** A suite state. */
export type TaskSuiteState = typeof TASK_SUITE_STATES[number];
/** Database code of each suite state. */
export const TaskSuiteStateCode = { Open: 0, Closed: 1, Complete: 2, Cancelled: 3 } as const satisfies Record<
  TaskSuiteState,
  number
>;

/** How a manager came to serve a suite: UserSpecified=0, TagMatched=1. */
export const SELECTION_TYPES = ["UserSpecified", "TagMatched"] as const;
/** A selection type. */
export type SelectionType = typeof SELECTION_TYPES[number];

/** CPU binding of managed workers. */
export const CpuBindingSchema = z.object({
  cores: z.array(z.number().int().min(0).max(65_535)).min(1, "name at least one core"),
  strategy: z.enum(["RoundRobin", "Exclusive", "Shared"]),
});
/** GPU binding of managed workers. */
export const GpuBindingSchema = z.object({
  gpus: z.array(z.string().min(1)).min(1, "name at least one GPU"),
  per_worker: z.number().int().min(1).default(1),
});

/** How many workers run a suite on each manager and how they are fed. */
export const WorkerScheduleSchema = z.object({
  worker_count: z.number().int().min(1).max(256),
  task_prefetch_count: z.number().int().min(1).max(10_000).default(16),
  cpu_binding: CpuBindingSchema.nullable().optional(),
  gpu_binding: GpuBindingSchema.nullable().optional(),
});
/** A worker schedule. */
export type WorkerSchedule = z.output<typeof WorkerScheduleSchema>;

/** A setup or cleanup hook: a command with its environment, inputs and timeout. */
export const HookSpecSchema = z.object({
  args: z.array(z.string()).min(1, "must hold at least the program to run"),
  envs: z.record(z.string(), z.string()).default({}),
  resources: z.array(RemoteResourceDownloadSchema).default([]),
  timeout: DurationStringSchema.default("10m"),
});
/** A hook. */
export type HookSpec = z.output<typeof HookSpecSchema>;

/** `POST /suites` request. */
export const CreateSuiteReqSchema = z.object({
  name: z.string().max(255).nullable().optional(),
  description: z.string().max(4096).nullable().optional(),
  group_name: NameSchema,
  tags: z.array(z.string().min(1)).default([]),
  labels: z.array(z.string()).default([]),
  priority: z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1).default(0),
  worker_schedule: WorkerScheduleSchema,
  env_preparation: HookSpecSchema.nullable().optional(),
  env_cleanup: HookSpecSchema.nullable().optional(),
});
/** A suite creation (input shape). */
export type CreateSuiteReq = z.input<typeof CreateSuiteReqSchema>;

/** `POST /suites` response (201). */
export const CreateSuiteRespSchema = z.object({ uuid: z.uuid() });

/** A manager serving (or allowed to serve) a suite. */
export const SuiteManagerInfoSchema = z.object({
  manager_uuid: z.uuid(),
  selection_type: z.enum(SELECTION_TYPES),
  matched_tags: z.array(z.string()),
  added_at: z.string(),
  /** True while the manager is assigned to (working on) this suite. */
  working: z.boolean(),
  /** Set when this manager's preparation hook failed for the suite. */
  prepare_error: z.string().nullable(),
});
/** A suite's manager. */
export type SuiteManagerInfo = z.infer<typeof SuiteManagerInfoSchema>;

/** `GET /suites/{uuid}`: flat suite details. */
export const SuiteInfoSchema = z.object({
  uuid: z.uuid(),
  name: z.string().nullable(),
  description: z.string().nullable(),
  group_name: z.string(),
  creator_username: z.string(),
  tags: z.array(z.string()),
  labels: z.array(z.string()),
  priority: z.number().int(),
  state: z.number().int(),
  state_name: z.enum(TASK_SUITE_STATES),
  total_tasks: z.number().int(),
  pending_tasks: z.number().int(),
  worker_schedule: WorkerScheduleSchema,
  env_preparation: HookSpecSchema.nullable(),
  env_cleanup: HookSpecSchema.nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  completed_at: z.string().nullable(),
  last_task_submitted_at: z.string().nullable(),
  assigned_managers: z.array(SuiteManagerInfoSchema),
});
/** Suite details. */
export type SuiteInfo = z.output<typeof SuiteInfoSchema>;

/** A suite state filter: a name (any case) or its numeric code. */
export const SuiteStateFilterSchema = z.union([z.number().int(), z.string()]).transform((v, ctx) => {
  const code = typeof v === "number"
    ? v
    : /^\d+$/.test(v)
    ? Number(v)
    : TASK_SUITE_STATES.findIndex((s) => s.toLowerCase() === v.toLowerCase());
  if (!(code >= 0 && code < TASK_SUITE_STATES.length)) {
    ctx.addIssue({ code: "custom", message: `expected one of ${TASK_SUITE_STATES.join(", ")} or 0-3` });
    return z.NEVER;
  }
  return code;
});

/** `POST /suites/query` request (also `GET /suites?…`). */
export const SuitesQueryReqSchema = z.object({
  group_name: NameSchema.nullable().optional(),
  state: SuiteStateFilterSchema.nullable().optional(),
  tags: z.array(z.string()).min(1).nullable().optional(),
  limit: z.number().int().min(0).nullable().optional(),
  offset: z.number().int().min(0).nullable().optional(),
  count: z.boolean().default(false),
});
/** A suite query (input shape). */
export type SuitesQueryReq = z.input<typeof SuitesQueryReqSchema>;

/** Suite query results. */
export const SuitesQueryRespSchema = z.object({ count: z.number().int(), suites: z.array(SuiteInfoSchema) });

/** `POST /suites/{uuid}/cancel` (and `DELETE /suites/{uuid}`) request. */
export const CancelSuiteReqSchema = z.object({
  reason: z.string().max(4096).nullable().optional(),
  cancel_running_tasks: z.boolean().default(false),
});
/** Suite cancellation result. */
export const CancelSuiteRespSchema = z.object({
  cancelled_tasks: z.number().int(),
  running_tasks: z.number().int(),
});

/** `POST /suites/{uuid}/managers` (add) and `DELETE` (remove) request. */
export const SuiteManagersReqSchema = z.object({ manager_uuids: z.array(z.uuid()).min(1) });
/** A manager refused for a suite, with the reason. */
export const RejectedManagerSchema = z.object({ manager_uuid: z.uuid(), reason: z.string() });
/** Result of adding managers. */
export const AddSuiteManagersRespSchema = z.object({
  added: z.array(z.uuid()),
  rejected: z.array(RejectedManagerSchema),
});
/** Result of removing managers. */
export const RemoveSuiteManagersRespSchema = z.object({ removed: z.array(z.uuid()) });
/** Result of `POST /suites/{uuid}/managers/refresh`: the new TagMatched set. */
export const RefreshSuiteManagersRespSchema = z.object({ matched: z.array(z.uuid()) });
