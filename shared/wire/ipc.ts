/**
 * Manager ↔ managed-worker IPC messages (SPEC §7). A worker's first request
 * is `Hello` with the secret its manager gave it at spawn
 * (`shared/ipc/worker_secret.ts`); the manager answers any other first
 * request, a wrong secret, a worker it did not spawn or one already
 * connected with `Error` and closes the connection. Workers then send requests
 * (`FetchTask`, `ReportTask`, `Heartbeat`, and `ResourceUrl` / `TaskState`
 * for what an independent worker would ask the coordinator) and get one
 * reply each, matched by
 * `request_id`; the manager pushes control messages (`Shutdown`,
 * `CancelTask`). Every transport carries exactly these JSON objects.
 */
import { z } from "zod";
import { ReportTaskOpSchema } from "./workers.ts";
import { ManagedTaskSchema } from "./manager_ws.ts";
import { RemoteResourceSchema, TASK_STATES, TaskResultSpecSchema } from "./tasks.ts";

const RequestId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const WorkerLocalId = z.number().int().min(0).max(65_535);

/** Worker → manager requests. */
export const WorkerRequestSchema = z.discriminatedUnion("type", [
  /** The first request of a connection: which worker speaks, proven by its spawn secret. */
  z.object({
    type: z.literal("Hello"),
    request_id: RequestId,
    worker_local_id: WorkerLocalId,
    secret: z.string().max(256),
  }),
  z.object({ type: z.literal("FetchTask"), request_id: RequestId, worker_local_id: WorkerLocalId }),
  z.object({
    type: z.literal("ReportTask"),
    request_id: RequestId,
    worker_local_id: WorkerLocalId,
    task_id: z.number().int(),
    op: ReportTaskOpSchema,
  }),
  z.object({ type: z.literal("Heartbeat"), request_id: RequestId, worker_local_id: WorkerLocalId }),
  /** A download URL for a resource of the task the worker runs (managed workers hold no credentials). */
  z.object({
    type: z.literal("ResourceUrl"),
    request_id: RequestId,
    worker_local_id: WorkerLocalId,
    task_uuid: z.uuid(),
    resource: RemoteResourceSchema,
  }),
  /** The state (and result, once archived) of the task the worker's task watches (`watch`). */
  z.object({
    type: z.literal("TaskState"),
    request_id: RequestId,
    worker_local_id: WorkerLocalId,
    task_uuid: z.uuid(),
  }),
]);
/** A worker request (input shape). */
export type WorkerRequest = z.input<typeof WorkerRequestSchema>;
/** A validated worker request. */
export type ValidWorkerRequest = z.output<typeof WorkerRequestSchema>;

/** Manager → worker replies (one per request, same `request_id`). */
export const ManagerReplySchema = z.discriminatedUnion("type", [
  /** The `Hello` was accepted: this connection speaks for that worker. */
  z.object({ type: z.literal("HelloReply"), request_id: RequestId }),
  /** `task: null` means nothing to run right now: ask again later (or wait for Shutdown). */
  z.object({ type: z.literal("FetchTaskReply"), request_id: RequestId, task: ManagedTaskSchema.nullable() }),
  z.object({
    type: z.literal("ReportTaskReply"),
    request_id: RequestId,
    success: z.boolean(),
    url: z.string().nullable().optional(),
    error: z.string().nullable().optional(),
  }),
  z.object({ type: z.literal("HeartbeatReply"), request_id: RequestId }),
  /**
   * `status: "Ok"` with `url` and `size`; `NotFound` / `Forbidden` as the
   * coordinator answered; `Unavailable` when the URL could not be obtained
   * otherwise (`error` says why).
   */
  z.object({
    type: z.literal("ResourceUrlReply"),
    request_id: RequestId,
    status: z.enum(["Ok", "NotFound", "Forbidden", "Unavailable"]),
    url: z.string().nullable().optional(),
    size: z.number().int().min(0).nullable().optional(),
    error: z.string().nullable().optional(),
  }),
  /**
   * `status: "Ok"` with `state` and `result`; `NotFound` when the
   * coordinator does not know the task; `Forbidden` when it is not what the
   * worker's task watches; `Unavailable` when the coordinator could not be
   * asked (`error` says why).
   */
  z.object({
    type: z.literal("TaskStateReply"),
    request_id: RequestId,
    status: z.enum(["Ok", "NotFound", "Forbidden", "Unavailable"]),
    state: z.enum(TASK_STATES).nullable().optional(),
    result: TaskResultSpecSchema.nullable().optional(),
    error: z.string().nullable().optional(),
  }),
  /** A malformed or unknown request; the connection stays open. */
  z.object({ type: z.literal("Error"), request_id: RequestId.nullable().optional(), msg: z.string() }),
]);
/** A manager reply. */
export type ManagerReply = z.output<typeof ManagerReplySchema>;

/** Manager → worker control messages (no reply expected). */
export const WorkerControlSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("Shutdown"), graceful: z.boolean() }),
  z.object({ type: z.literal("CancelTask"), task_id: z.number().int() }),
]);
/** A control message. */
export type WorkerControl = z.output<typeof WorkerControlSchema>;

/** Largest IPC message accepted (bytes of JSON); defined beside the transports, which must not load zod. */
export { MAX_IPC_MESSAGE_BYTES } from "../ipc/limits.ts";
