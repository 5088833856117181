/**
 * Wire schemas of node managers over REST (SPEC §5.3): registration,
 * heartbeat, queries, shutdown, tags/labels/groups, token refresh.
 */
import { z } from "zod";
import { GROUP_WORKER_ROLES, GroupWorkerRoleSchema, NameSchema } from "./common.ts";
import { DurationStringSchema, RemoteResourceSchema } from "./tasks.ts";
import { WorkerGroupSpecSchema, WorkerShutdownOpSchema } from "./workers.ts";

/** Manager states with database codes Idle=0 … Offline=4. */
export const NODE_MANAGER_STATES = ["Idle", "Preparing", "Executing", "Cleanup", "Offline"] as const;
/** A manager state. */
export type NodeManagerState = typeof NODE_MANAGER_STATES[number];
/** Database code of each manager state. */
export const NodeManagerStateCode = {
  Idle: 0,
  Preparing: 1,
  Executing: 2,
  Cleanup: 3,
  Offline: 4,
} as const satisfies Record<NodeManagerState, number>;

/** `POST /managers` request (user token). */
export const RegisterManagerReqSchema = z.object({
  tags: z.array(z.string().min(1)).default([]),
  labels: z.array(z.string()).default([]),
  groups: z.array(WorkerGroupSpecSchema).default([]),
  max_workers: z.number().int().min(1).max(4096).nullable().optional(),
  hostname: z.string().min(1).max(255).nullable().optional(),
  lifetime: DurationStringSchema.nullable().optional(),
});
/** Manager registration (input shape). */
export type RegisterManagerReq = z.input<typeof RegisterManagerReqSchema>;

/** `POST /managers` response (201). */
export const RegisterManagerRespSchema = z.object({ manager_uuid: z.uuid(), token: z.string() });
/** Registration result. */
export type RegisterManagerResp = z.infer<typeof RegisterManagerRespSchema>;

/** Metrics a manager reports with each heartbeat. */
export const ManagerMetricsSchema = z.object({
  active_workers: z.number().int().min(0).default(0),
  tasks_completed: z.number().int().min(0).default(0),
  tasks_failed: z.number().int().min(0).default(0),
  uptime_seconds: z.number().min(0).default(0),
  cpu_usage_percent: z.number().min(0).default(0),
  memory_usage_mb: z.number().min(0).default(0),
  /** The manager ↔ worker IPC transport in use (`unix`, `iceoryx`); absent from older managers. */
  ipc_transport: z.string().max(32).optional(),
});
/** Manager metrics. */
export type ManagerMetrics = z.output<typeof ManagerMetricsSchema>;

/** `POST /managers/heartbeat` request (also the WebSocket `Heartbeat` body). */
export const ManagerHeartbeatReqSchema = z.object({
  state: z.enum(NODE_MANAGER_STATES),
  assigned_suite_uuid: z.uuid().nullable().optional(),
  metrics: ManagerMetricsSchema.optional(),
});

/** One manager as listed. */
export const ManagerInfoSchema = z.object({
  manager_uuid: z.uuid(),
  creator_username: z.string(),
  tags: z.array(z.string()),
  labels: z.array(z.string()),
  state: z.enum(NODE_MANAGER_STATES),
  hostname: z.string().nullable(),
  max_workers: z.number().int(),
  last_heartbeat: z.string(),
  assigned_suite_uuid: z.uuid().nullable(),
  lease_expires_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  groups: z.record(z.string(), z.enum(GROUP_WORKER_ROLES)),
});
/** Manager info. */
export type ManagerInfo = z.infer<typeof ManagerInfoSchema>;

/** `POST /managers/query` request (also `GET /managers?…`). */
export const ManagersQueryReqSchema = z.object({
  group_name: NameSchema.nullable().optional(),
  state: z.enum(NODE_MANAGER_STATES).nullable().optional(),
  tags: z.array(z.string()).min(1).nullable().optional(),
  labels: z.array(z.string()).min(1).nullable().optional(),
  count: z.boolean().default(false),
});
/** A manager query (input shape). */
export type ManagersQueryReq = z.input<typeof ManagersQueryReqSchema>;

/** Manager query results. */
export const ManagersQueryRespSchema = z.object({
  count: z.number().int(),
  managers: z.array(ManagerInfoSchema),
  group_name: z.string(),
});

/** `POST /managers/{uuid}/shutdown` request. */
export const ManagerShutdownReqSchema = z.object({ op: WorkerShutdownOpSchema.default("Graceful") });

/** `PUT /managers/{uuid}/tags` request. */
export const ReplaceManagerTagsReqSchema = z.object({ tags: z.array(z.string().min(1)) });
/** `PUT /managers/{uuid}/labels` request. */
export const ReplaceManagerLabelsReqSchema = z.object({ labels: z.array(z.string()) });
/** `PUT /managers/{uuid}/groups` request: group → role. */
export const UpdateGroupManagerRoleReqSchema = z.object({
  relations: z.record(NameSchema, GroupWorkerRoleSchema).refine((r) => Object.keys(r).length > 0, {
    message: "must name at least one group",
  }),
});

/** `POST /managers/{uuid}/refresh-token` response. */
export const RefreshManagerTokenRespSchema = z.object({ token: z.string() });

/**
 * `POST /managers/resources` (manager token): a download URL for a resource
 * of a suite this manager serves (hook resources, and task resources relayed
 * for managed workers, which hold no credentials). Attachments are those of
 * the suite's group.
 */
export const ManagerResourceReqSchema = z.object({
  suite_uuid: z.uuid(),
  remote_file: RemoteResourceSchema,
});
/** A manager resource request (input shape). */
export type ManagerResourceReq = z.input<typeof ManagerResourceReqSchema>;
