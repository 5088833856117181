/**
 * One node manager's WebSocket session: decodes each frame, runs requests
 * concurrently (replies may leave out of order, matched by `request_id`),
 * answers unusable frames and failed handlers with `Error` without closing
 * the connection (naming the problem when it is the manager's: an API error
 * or a value the database refused). Reports about one task (`ReportTask` or
 * `ReportTasks` naming the same `task_id`) run in the order received, so a
 * pipelined Finish then Commit cannot overtake each other.
 */
import type { CoordinatorMessage, ValidManagerMessage } from "../../shared/wire/manager_ws.ts";
import type { AppDeps, AuthManager } from "../http/context.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { ManagerSession } from "./registry.ts";
import { decodeManagerFrame } from "./frames.ts";
import { handleManagerMessage } from "./handlers.ts";
import type { ManagerRequestContext } from "./context.ts";
import { ApiError, DATABASE_UNAVAILABLE_MESSAGE } from "../../shared/errors.ts";
import { isDatabaseUnavailable, isDataException } from "../db/errors.ts";

/** The tasks a message reports on (none for messages other than reports). */
function reportedTasks(msg: ValidManagerMessage): number[] {
  if (msg.type === "ReportTask") return [msg.task_id];
  if (msg.type === "ReportTasks") return [...new Set(msg.reports.map((r) => r.task_id))];
  return [];
}

/** Requests one session may have in flight; more are answered with `Error` at once. */
export const MAX_IN_FLIGHT = 4096;

/** The socket operations a session needs (a WebSocket, or a test double). */
export interface SessionSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

const OPEN = 1;

/** A live `/ws/managers` connection of one manager. */
export class ManagerConnection implements ManagerSession {
  readonly managerId: number;
  readonly #socket: SessionSocket;
  readonly #ctx: ManagerRequestContext;
  readonly #taskChains = new Map<number, Promise<void>>();
  #inFlight = 0;
  #shutdownSent = false;

  constructor(deps: AppDeps, manager: AuthManager, socket: SessionSocket, log: Logger) {
    this.managerId = manager.id;
    this.#socket = socket;
    this.#ctx = { deps, manager, log };
  }

  /** Requests being handled now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** True once a `Shutdown` was written to this connection (its normal close then ends the shutdown request). */
  get shutdownSent(): boolean {
    return this.#shutdownSent;
  }

  send(message: CoordinatorMessage): boolean {
    if (this.#socket.readyState !== OPEN) return false;
    this.#ctx.deps.metrics.wsMessage("sent", message.type);
    try {
      this.#socket.send(JSON.stringify(message));
      if (message.type === "Shutdown") this.#shutdownSent = true;
      return true;
    } catch (error) {
      this.#ctx.log.debug("send on a closing WebSocket failed", { type: message.type, error });
      return false;
    }
  }

  close(code: number, reason: string): void {
    try {
      this.#socket.close(code, reason);
    } catch (error) {
      this.#ctx.log.debug("closing the WebSocket failed", { code, reason, error });
    }
  }

  /** Handles one received frame (text or binary, as delivered). Never throws. */
  receive(data: unknown): void {
    const decoded = decodeManagerFrame(data);
    this.#ctx.deps.metrics.wsMessage("received", decoded.ok ? decoded.message.type : "invalid");
    if (!decoded.ok) {
      this.#ctx.log.info("unusable frame from manager", { request_id: decoded.request_id, error: decoded.msg });
      this.send({ type: "Error", request_id: decoded.request_id, msg: decoded.msg });
      return;
    }
    const msg = decoded.message;
    if (this.#inFlight >= MAX_IN_FLIGHT) {
      this.send({
        type: "Error",
        request_id: msg.request_id ?? null,
        msg: `too many requests in flight (limit ${MAX_IN_FLIGHT}); wait for replies`,
      });
      return;
    }
    this.#inFlight++;
    const tasks = reportedTasks(msg);
    if (tasks.length === 0) {
      void this.#run(msg).finally(() => this.#inFlight--);
      return;
    }
    // After the previous reports of the same tasks (which never reject).
    const previous = tasks.map((id) => this.#taskChains.get(id)).filter((p) => p !== undefined);
    const start = previous.length === 0 ? Promise.resolve() : Promise.all(previous);
    const next: Promise<void> = start.then(() => this.#run(msg)).finally(() => {
      this.#inFlight--;
      for (const id of tasks) if (this.#taskChains.get(id) === next) this.#taskChains.delete(id);
    });
    for (const id of tasks) this.#taskChains.set(id, next);
  }

  /** Runs a handler and sends its reply; an unexpected failure is logged and answered with `Error`. */
  async #run(msg: ValidManagerMessage): Promise<void> {
    try {
      const reply = await handleManagerMessage(this.#ctx, msg);
      if (reply !== null) this.send(reply);
    } catch (error) {
      const request_id = msg.request_id ?? null;
      if (error instanceof ApiError || isDataException(error)) {
        // The caller's mistake: name it, as the REST API does.
        this.#ctx.log.warn("manager request refused", { type: msg.type, request_id, error });
        const text = error instanceof ApiError ? error.message : `invalid value: ${error.message}`;
        this.send({ type: "Error", request_id, msg: `${msg.type} failed: ${text}` });
        return;
      }
      if (isDatabaseUnavailable(error)) {
        // Transient: the manager sends idempotent requests again; the outage is logged once, not each request.
        this.#ctx.deps.database.failed(error, { type: msg.type, request_id, manager: this.#ctx.manager.uuid });
        this.send({ type: "Error", request_id, msg: `${msg.type} failed: ${DATABASE_UNAVAILABLE_MESSAGE}` });
        return;
      }
      this.#ctx.log.error("manager request failed", { type: msg.type, request_id, error });
      this.send({ type: "Error", request_id, msg: `internal error handling ${msg.type}` });
    }
  }
}
