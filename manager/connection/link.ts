/**
 * `CoordinatorLink` over the manager's WebSocket, plus the suite lifecycle
 * messages (SuiteStarted, SuitePrepareFailed, SuiteCompleted) and heartbeats
 * the suite runner sends. Every call is one request awaiting its reply by
 * `request_id`; calls made while disconnected wait and are sent after
 * reconnection (see `coordinator_connection.ts`).
 *
 * The link keeps the registry of tasks this process holds
 * (`held_tasks.ts`) from the replies it gets, and builds the `HeldTasks`
 * greeting from it.
 *
 * Task reports travel together in `ReportTasks` messages (`report_batcher.ts`).
 * Reports and `ReturnTasks` are idempotent for a given attempt, so when the
 * coordinator answers `Error` (a database error, say) they are sent again
 * with a backoff (250 ms doubling to 5 s) until an answer comes: a report is
 * never turned into a re-run of its task because it could not be relayed.
 * Only a refusal (`success: false`) drops it. The retries stop once the
 * connection gives up (the manager is stopping). The suite messages
 * (SuiteStarted, SuitePrepareFailed, SuiteCompleted) are sent again the same
 * way when the coordinator answers that its database is unavailable.
 *
 * A `FetchTask` answered `Error` may still have claimed tasks (the database
 * committed the claim, then the coordinator lost its connection before the
 * answer): the next fetch is preceded by `HeldTasks`, as after a
 * reconnection, so the coordinator returns such claims to Ready instead of
 * leaving them held here unseen while the connection stays open.
 */
import type { CoordinatorLink, ReportAck } from "../contracts.ts";
import { DATABASE_UNAVAILABLE_MESSAGE } from "../../shared/errors.ts";
import type { CoordinatorMessage, ManagedTask, ManagerReportOp } from "../../shared/wire/manager_ws.ts";
import type { ManagerMetrics, NodeManagerState } from "../../shared/wire/managers.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { CoordinatorConnection, ManagerRequest, RequestOptions } from "./coordinator_connection.ts";
import type { TaskCounters } from "../metrics.ts";
import { Backoff, sleep } from "./backoff.ts";
import { CoordinatorRequestError } from "./coordinator_connection.ts";
import { HeldTaskRegistry } from "./held_tasks.ts";
import { ReportBatcher } from "./report_batcher.ts";
import type { MetricsRecorder } from "../prometheus/recorder.ts";

/** Backoff of requests retried after an `Error` answer: 250 ms doubling up to 5 s. */
const RETRY_BACKOFF = { initialMs: 250, maxMs: 5_000 } as const;

/** The coordinator answered with a reply of an unexpected type. */
export class UnexpectedReplyError extends Error {
  constructor(request: string, reply: CoordinatorMessage) {
    super(`unexpected reply ${reply.type} to ${request}`);
    this.name = "UnexpectedReplyError";
  }
}

type Reply<T extends CoordinatorMessage["type"]> = Extract<CoordinatorMessage, { type: T }>;

/** True when the coordinator refused a request because its database is unavailable (a passing condition). */
export function isDatabaseUnavailableReply(error: unknown): boolean {
  return error instanceof CoordinatorRequestError && error.message.includes(DATABASE_UNAVAILABLE_MESSAGE);
}

/** The manager's requests to the coordinator. */
export class ManagerLink implements CoordinatorLink {
  readonly #connection: CoordinatorConnection;
  readonly #counters: TaskCounters;
  readonly #log: Logger;
  readonly #reports: ReportBatcher;
  /** The tasks this process holds. */
  readonly held: HeldTaskRegistry;
  /** A FetchTask was answered `Error`: declare the held tasks before the next one (see the module comment). */
  #claimUnsure = false;

  /**
   * `counters` counts committed tasks (exit status 0 without a message →
   * completed, else failed) and aborted tasks (failed).
   */
  constructor(
    connection: CoordinatorConnection,
    counters: TaskCounters,
    log: Logger,
    held = new HeldTaskRegistry(),
    metrics?: MetricsRecorder,
  ) {
    this.#connection = connection;
    this.#counters = counters;
    this.#log = log;
    this.held = held;
    this.#reports = new ReportBatcher(
      async (reports) => (await this.#call("TasksReportAck", { type: "ReportTasks", reports })).results,
      log,
      { givingUp: () => connection.givingUp, metrics },
    );
  }

  /** The `HeldTasks` greeting of a new connection: every task this process holds. */
  heldTasksGreeting(): ManagerRequest {
    const task_uuids = this.held.uuids();
    this.#log.info("declaring held tasks to the coordinator", { count: task_uuids.length });
    return { type: "HeldTasks", task_uuids };
  }

  /**
   * Sends `message` until the coordinator answers something other than an
   * `Error` that `retryable` accepts (default: any; see the module comment);
   * other failures are thrown at once.
   */
  async #retrying<T extends CoordinatorMessage["type"]>(
    expected: T,
    message: ManagerRequest,
    fields: Record<string, unknown>,
    retryable: (error: CoordinatorRequestError) => boolean = () => true,
  ): Promise<Reply<T>> {
    const backoff = new Backoff({ ...RETRY_BACKOFF, random: () => 1 });
    for (;;) {
      try {
        return await this.#call(expected, message);
      } catch (error) {
        if (!(error instanceof CoordinatorRequestError) || !retryable(error) || this.#connection.givingUp) throw error;
        const delay = backoff.next();
        this.#log.warn(`${message.type} failed at the coordinator; sending it again`, {
          ...fields,
          error: error.message,
          attempt: backoff.attempts,
          retry_in_ms: delay,
        });
        await sleep(delay);
        if (this.#connection.givingUp) throw error;
      }
    }
  }

  async #call<T extends CoordinatorMessage["type"]>(
    expected: T,
    message: ManagerRequest,
    options?: RequestOptions,
  ): Promise<Reply<T>> {
    const reply = await this.#connection.request(message, options);
    if (reply.type !== expected) throw new UnexpectedReplyError(message.type, reply);
    return reply as Reply<T>;
  }

  /** An `Ack` with `success: false` is logged (the coordinator changed nothing). */
  #checkAck(what: string, ack: Reply<"Ack">, fields: Record<string, unknown>): boolean {
    if (!ack.success) this.#log.warn(`${what} refused by the coordinator`, { ...fields, error: ack.error ?? null });
    return ack.success;
  }

  async fetchTasks(suiteUuid: string, maxCount: number): Promise<{ tasks: ManagedTask[]; suiteState: string | null }> {
    if (this.#claimUnsure) {
      await this.#call("Ack", this.heldTasksGreeting());
      this.#claimUnsure = false;
    }
    let reply: Reply<"TaskAvailable">;
    try {
      reply = await this.#call("TaskAvailable", { type: "FetchTask", suite_uuid: suiteUuid, max_count: maxCount });
    } catch (error) {
      if (error instanceof CoordinatorRequestError) this.#claimUnsure = true;
      throw error;
    }
    this.held.claimed(reply.tasks);
    return { tasks: reply.tasks, suiteState: reply.suite_state };
  }

  async reportTask(taskId: number, attempt: number, op: ManagerReportOp): Promise<ReportAck> {
    const reply = await this.#reports.report({ task_id: taskId, attempt, op });
    const result = typeof op === "object" && "Commit" in op
      ? op.Commit
      : typeof op === "object" && "Complete" in op
      ? op.Complete
      : null;
    if (result !== null || !reply.success) this.held.releaseId(taskId);
    if (reply.success && result !== null) {
      if (result.exit_status === 0 && !result.msg) this.#counters.completed++;
      else this.#counters.failed++;
    }
    return { success: reply.success, url: reply.url ?? null, error: reply.error ?? null };
  }

  async reportFailure(
    taskUuid: string,
    failureCount: number,
    errorMessage: string,
    workerLocalId: number,
  ): Promise<void> {
    const ack = await this.#call("Ack", {
      type: "ReportFailure",
      task_uuid: taskUuid,
      failure_count: failureCount,
      error_message: errorMessage,
      worker_local_id: workerLocalId,
    });
    this.#checkAck("failure report", ack, { task_uuid: taskUuid, worker_local_id: workerLocalId });
  }

  async abortTask(taskUuid: string, reason: string): Promise<void> {
    const ack = await this.#call("Ack", { type: "AbortTask", task_uuid: taskUuid, reason });
    this.held.releaseUuids([taskUuid]);
    if (this.#checkAck("task abort", ack, { task_uuid: taskUuid })) this.#counters.failed++;
  }

  async returnTasks(taskUuids: string[]): Promise<void> {
    if (taskUuids.length === 0) return;
    const ack = await this.#retrying("Ack", { type: "ReturnTasks", task_uuids: taskUuids }, {
      count: taskUuids.length,
    });
    this.held.releaseUuids(taskUuids);
    this.#checkAck("task return", ack, { task_uuids: taskUuids });
  }

  /** `SuiteStarted`; false when the coordinator does not hold the suite for this manager (it then reclaims it). */
  async suiteStarted(suiteUuid: string): Promise<boolean> {
    const ack = await this.#retrying(
      "Ack",
      { type: "SuiteStarted", suite_uuid: suiteUuid },
      { suite_uuid: suiteUuid },
      isDatabaseUnavailableReply,
    );
    return this.#checkAck("suite start", ack, { suite_uuid: suiteUuid });
  }

  /** `SuitePrepareFailed`: releases the suite; it is not offered to this manager again until it reopens. */
  async suitePrepareFailed(suiteUuid: string, error: string): Promise<void> {
    const ack = await this.#retrying(
      "Ack",
      { type: "SuitePrepareFailed", suite_uuid: suiteUuid, error },
      { suite_uuid: suiteUuid },
      isDatabaseUnavailableReply,
    );
    this.#checkAck("preparation failure report", ack, { suite_uuid: suiteUuid });
  }

  /** `SuiteCompleted`: the manager is done with the suite (its leftover tasks go back to Ready). */
  async suiteCompleted(
    suiteUuid: string,
    tasksCompleted: number,
    tasksFailed: number,
    cleanupError: string | null,
  ): Promise<void> {
    const ack = await this.#retrying(
      "Ack",
      {
        type: "SuiteCompleted",
        suite_uuid: suiteUuid,
        tasks_completed: tasksCompleted,
        tasks_failed: tasksFailed,
        cleanup_error: cleanupError,
      },
      { suite_uuid: suiteUuid },
      isDatabaseUnavailableReply,
    );
    // The coordinator returned whatever of the suite was still held here.
    this.held.releaseSuite(suiteUuid);
    this.#checkAck("suite completion", ack, { suite_uuid: suiteUuid });
  }

  /**
   * A heartbeat on the open connection (never queued: a stale state is of no
   * use later). Without a reply within `timeoutMs` the connection is dropped
   * and made again.
   */
  async heartbeat(
    state: NodeManagerState,
    suiteUuid: string | null,
    metrics: ManagerMetrics,
    timeoutMs: number,
  ): Promise<Reply<"HeartbeatAck">> {
    return await this.#call(
      "HeartbeatAck",
      { type: "Heartbeat", state, assigned_suite_uuid: suiteUuid, metrics },
      { resend: false, timeoutMs },
    );
  }
}
