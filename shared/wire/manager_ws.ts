/**
 * The `/ws/managers` WebSocket protocol (SPEC §5.4). Every frame is a JSON
 * object with a PascalCase `type`. Requests from the manager carry a numeric
 * `request_id`, echoed by the reply; replies may come out of order. Pushes
 * from the coordinator carry no `request_id`.
 */
import { z } from "zod";
import { ManagerMetricsSchema, NODE_MANAGER_STATES } from "./managers.ts";
import { ReportTaskOpSchema } from "./workers.ts";
import { TaskResultSpecSchema, TaskSpecSchema } from "./tasks.ts";
import { SuiteInfoSchema, TASK_SUITE_STATES } from "./suites.ts";

const RequestId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * A manager's report on a task: a worker's report operation, or `Complete`
 * (Finish and Commit in one, for a task with nothing to upload).
 */
export const ManagerReportOpSchema = z.union([
  ReportTaskOpSchema,
  z.object({ Complete: TaskResultSpecSchema }).strict(),
]);
/** A manager's report operation (input shape). */
export type ManagerReportOp = z.input<typeof ManagerReportOpSchema>;

/** Most reports in one `ReportTasks` message. */
export const MAX_REPORTS_PER_MESSAGE = 1000;

/** One report of a `ReportTasks` message. */
export const TaskReportItemSchema = z.object({
  task_id: z.number().int(),
  attempt: z.number().int().min(0).nullable().optional(),
  op: ManagerReportOpSchema,
});
/** One report of a `ReportTasks` message (input shape). */
export type TaskReportItem = z.input<typeof TaskReportItemSchema>;
/** A validated report (of `ReportTask` or `ReportTasks`). */
export type ValidTaskReportItem = z.output<typeof TaskReportItemSchema>;

/** Manager → coordinator messages. */
export const ManagerMessageSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("Heartbeat"),
    request_id: RequestId.optional(),
    state: z.enum(NODE_MANAGER_STATES),
    assigned_suite_uuid: z.uuid().nullable().optional(),
    metrics: ManagerMetricsSchema.optional(),
  }),
  z.object({
    type: z.literal("FetchTask"),
    request_id: RequestId,
    suite_uuid: z.uuid().nullable().optional(),
    worker_local_id: z.number().int().min(0).nullable().optional(),
    max_count: z.number().int().min(1).max(1000).default(1),
  }),
  z.object({
    type: z.literal("ReportTask"),
    request_id: RequestId,
    task_id: z.number().int(),
    attempt: z.number().int().min(0).nullable().optional(),
    op: ManagerReportOpSchema,
  }),
  /**
   * Many reports in one message, answered with one `TasksReportAck` holding
   * a result per report, in order. The reports of one task apply in the
   * order given; reports of different tasks are independent (one refused
   * report changes nothing for the others).
   */
  z.object({
    type: z.literal("ReportTasks"),
    request_id: RequestId,
    reports: z.array(TaskReportItemSchema).min(1).max(MAX_REPORTS_PER_MESSAGE),
  }),
  z.object({
    type: z.literal("ReportFailure"),
    request_id: RequestId,
    task_uuid: z.uuid(),
    failure_count: z.number().int().min(0),
    error_message: z.string().max(65_536),
    worker_local_id: z.number().int().min(0).nullable().optional(),
  }),
  z.object({
    type: z.literal("AbortTask"),
    request_id: RequestId,
    task_uuid: z.uuid(),
    reason: z.string().max(65_536),
  }),
  z.object({
    type: z.literal("ReturnTasks"),
    request_id: RequestId,
    task_uuids: z.array(z.uuid()).max(100_000),
  }),
  /**
   * Sent first on every (re)connection: the suite tasks this manager process
   * still holds (buffered, running, or with reports pending); none after a
   * restart. The coordinator returns every other task it records as held by
   * this manager to Ready at once. Answered with `Ack`.
   */
  z.object({
    type: z.literal("HeldTasks"),
    request_id: RequestId,
    task_uuids: z.array(z.uuid()).max(100_000),
  }),
  z.object({ type: z.literal("SuiteStarted"), request_id: RequestId.optional(), suite_uuid: z.uuid() }),
  z.object({
    type: z.literal("SuitePrepareFailed"),
    request_id: RequestId.optional(),
    suite_uuid: z.uuid(),
    error: z.string().max(65_536),
  }),
  z.object({
    type: z.literal("SuiteCompleted"),
    request_id: RequestId.optional(),
    suite_uuid: z.uuid(),
    tasks_completed: z.number().int().min(0).default(0),
    tasks_failed: z.number().int().min(0).default(0),
    /** Set when the suite's cleanup hook failed (the suite still completes). */
    cleanup_error: z.string().max(65_536).nullable().optional(),
  }),
]);
/** A message from a manager (input shape). */
export type ManagerMessage = z.input<typeof ManagerMessageSchema>;
/** A validated message from a manager. */
export type ValidManagerMessage = z.output<typeof ManagerMessageSchema>;

/** A suite task as a manager receives it. */
export const ManagedTaskSchema = z.object({
  id: z.number().int(),
  uuid: z.uuid(),
  /** Human duration, e.g. `10m`. */
  timeout: z.string(),
  spec: TaskSpecSchema,
  upstream_task_uuid: z.uuid().nullable(),
  /** Claim counter; a report naming an older attempt is refused. */
  attempt: z.number().int(),
  suite_uuid: z.uuid(),
});
/** A task handed to a manager. */
export type ManagedTask = z.output<typeof ManagedTaskSchema>;

/** Coordinator → manager messages: replies (with `request_id`) and pushes. */
export const CoordinatorMessageSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("HeartbeatAck"),
    request_id: RequestId.nullable().optional(),
    /** The suite the coordinator has assigned to this manager, if any. */
    assigned_suite_uuid: z.uuid().nullable(),
  }),
  z.object({
    type: z.literal("TaskAvailable"),
    request_id: RequestId,
    task: ManagedTaskSchema.nullable(),
    tasks: z.array(ManagedTaskSchema),
    /** The state of the suite the tasks came from (lets a manager see Complete/Cancelled). */
    suite_state: z.enum(TASK_SUITE_STATES).nullable(),
  }),
  z.object({
    type: z.literal("TaskReportAck"),
    request_id: RequestId,
    success: z.boolean(),
    url: z.string().nullable().optional(),
    error: z.string().nullable().optional(),
  }),
  /**
   * Reply to `ReportTasks`: one result per report, in order. `retry: true`
   * marks a report that failed for a passing reason (the database was
   * unreachable) and may be sent again; a refusal (`success: false` without
   * `retry`) is final.
   */
  z.object({
    type: z.literal("TasksReportAck"),
    request_id: RequestId,
    results: z.array(z.object({
      success: z.boolean(),
      url: z.string().nullable().optional(),
      error: z.string().nullable().optional(),
      retry: z.boolean().optional(),
    })),
  }),
  /** Reply to ReportFailure, AbortTask, ReturnTasks and the Suite* messages that carry a request_id. */
  z.object({
    type: z.literal("Ack"),
    request_id: RequestId,
    success: z.boolean(),
    error: z.string().nullable().optional(),
  }),
  z.object({ type: z.literal("Error"), request_id: RequestId.nullable().optional(), msg: z.string() }),
  z.object({ type: z.literal("SuiteAssigned"), suite_uuid: z.uuid(), suite_spec: SuiteInfoSchema }),
  z.object({ type: z.literal("CancelTask"), task_uuid: z.uuid(), reason: z.string() }),
  z.object({
    type: z.literal("CancelSuite"),
    suite_uuid: z.uuid(),
    reason: z.string(),
    cancel_running_tasks: z.boolean(),
  }),
  z.object({ type: z.literal("SuiteReclaimed"), suite_uuid: z.uuid() }),
  z.object({
    type: z.literal("ConfigUpdate"),
    heartbeat_interval: z.string().nullable().optional(),
    lease_duration: z.string().nullable().optional(),
  }),
  z.object({ type: z.literal("Shutdown"), graceful: z.boolean() }),
]);
/** A message from the coordinator. */
export type CoordinatorMessage = z.output<typeof CoordinatorMessageSchema>;
/** A push (coordinator-initiated message). */
export type CoordinatorPush = Extract<
  CoordinatorMessage,
  { type: "SuiteAssigned" | "CancelTask" | "CancelSuite" | "SuiteReclaimed" | "ConfigUpdate" | "Shutdown" }
>;

/**
 * The WebSocket close code a manager closes its connection with when it
 * exits (and only then): after a `Shutdown`, it tells the coordinator that
 * the manager stopped as asked, so the request is done.
 */
export const MANAGER_EXIT_CLOSE_CODE = 1000;

/** Largest accepted WebSocket frame (bytes); larger frames get an `Error` reply. */
export const MAX_MANAGER_FRAME_BYTES = 1 << 20;
