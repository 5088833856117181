/**
 * A scripted node manager for coordinator tests: registers through
 * `POST /managers`, connects `/ws/managers` with its Bearer token, sends
 * requests with increasing `request_id`s and awaits the replies by id
 * (several may be in flight), and queues everything else it receives
 * (pushes, `Error`s without a known id) for `nextPush`. Every frame received
 * is checked against `CoordinatorMessageSchema`; `close()` throws if one did
 * not conform.
 */
import { call } from "./http.ts";
import { openWebSocket, WebSocket, type WsCloseEvent } from "../../manager/connection/websocket.ts";
import {
  type CoordinatorMessage,
  CoordinatorMessageSchema,
  type ManagedTask,
  type ManagerMessage,
  type TaskReportItem,
} from "../../shared/wire/manager_ws.ts";
import type { NodeManagerState } from "../../shared/wire/managers.ts";
import type { ReportTaskOp } from "../../shared/wire/workers.ts";

/** A registered manager's identity. */
export interface ManagerCredentials {
  uuid: string;
  token: string;
}

/** `POST /managers` body. */
export interface ManagerRegistration {
  tags?: string[];
  labels?: string[];
  groups?: string[];
  max_workers?: number;
  hostname?: string;
  lifetime?: string;
}

/** Registers a manager as the user holding `userToken`. */
export async function registerManager(
  baseUrl: string,
  userToken: string,
  body: ManagerRegistration = {},
): Promise<ManagerCredentials> {
  const res = await call(baseUrl, "POST", "/managers", {
    token: userToken,
    body: { tags: [], labels: [], groups: [], ...body },
  });
  if (res.status !== 201) throw new Error(`manager registration failed: ${res.status} ${res.text}`);
  const { manager_uuid: uuid, token } = res.body as { manager_uuid: string; token: string };
  return { uuid, token };
}

type Of<T extends CoordinatorMessage["type"]> = Extract<CoordinatorMessage, { type: T }>;
/** A manager message without its request id (the harness numbers requests). */
type Request = ManagerMessage extends infer M ? M extends ManagerMessage ? Omit<M, "request_id"> : never : never;
type RequestBody<T extends ManagerMessage["type"]> = Omit<Extract<ManagerMessage, { type: T }>, "type" | "request_id">;

/** The WebSocket URL of a coordinator's manager endpoint. */
export function managerWsUrl(baseUrl: string): string {
  return `${baseUrl.replace(/^http/, "ws")}/ws/managers`;
}

/** One connected scripted manager. */
export class WsManager implements AsyncDisposable {
  readonly uuid: string;
  readonly token: string;
  /** Frames that did not match the coordinator protocol (should stay empty). */
  readonly protocolErrors: string[] = [];
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, (message: CoordinatorMessage) => void>();
  readonly #queue: CoordinatorMessage[] = [];
  readonly #waiters = new Set<() => void>();
  #nextId = 1;
  readonly closed: Promise<WsCloseEvent>;

  private constructor(creds: ManagerCredentials, socket: WebSocket) {
    this.uuid = creds.uuid;
    this.token = creds.token;
    this.#socket = socket;
    this.closed = new Promise((resolve) => socket.addEventListener("close", resolve, { once: true }));
    socket.addEventListener("message", (event) => this.#receive(event.data));
  }

  /** Connects with the manager's token; rejects when the connection fails. */
  static async connect(baseUrl: string, creds: ManagerCredentials): Promise<WsManager> {
    const socket = openWebSocket(managerWsUrl(baseUrl), { Authorization: `Bearer ${creds.token}` });
    const manager = new WsManager(creds, socket);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("error", () => reject(new Error("WebSocket connection failed")), { once: true });
    });
    return manager;
  }

  /** True while the socket is open. */
  get open(): boolean {
    return this.#socket.readyState === WebSocket.OPEN;
  }

  #receive(data: unknown) {
    if (typeof data !== "string") {
      this.protocolErrors.push("binary frame from the coordinator");
      return;
    }
    const parsed = CoordinatorMessageSchema.safeParse(JSON.parse(data));
    if (!parsed.success) {
      this.protocolErrors.push(`${data.slice(0, 300)}: ${parsed.error.message}`);
      return;
    }
    const message = parsed.data;
    const id = "request_id" in message ? message.request_id : null;
    const resolve = typeof id === "number" ? this.#pending.get(id) : undefined;
    if (resolve && typeof id === "number") {
      this.#pending.delete(id);
      resolve(message);
      return;
    }
    this.#queue.push(message);
    for (const wake of this.#waiters) wake();
  }

  /** Sends a raw text (or binary) frame as is. */
  sendRaw(data: string | Uint8Array<ArrayBuffer>): void {
    this.#socket.send(data);
  }

  /** Sends a request with the next request id and resolves with the reply carrying that id. */
  request(message: Request, timeoutMs = 10_000): Promise<CoordinatorMessage> {
    const id = this.#nextId++;
    return this.requestWithId(id, message, timeoutMs);
  }

  /** Sends `message` with `request_id: id` and awaits the reply with that id. */
  requestWithId(id: number, message: Request, timeoutMs = 10_000): Promise<CoordinatorMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no reply to ${message.type} #${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.#socket.send(JSON.stringify({ ...message, request_id: id }));
    });
  }

  async #expect<T extends CoordinatorMessage["type"]>(type: T, message: Request): Promise<Of<T>> {
    const reply = await this.request(message);
    if (reply.type !== type) throw new Error(`expected ${type} to ${message.type}, got ${JSON.stringify(reply)}`);
    return reply as Of<T>;
  }

  /** Takes the first queued message of `type` (a push, or an `Error` without a known id), waiting up to `timeoutMs`. */
  async nextPush<T extends CoordinatorMessage["type"]>(type: T, timeoutMs = 5_000): Promise<Of<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.#queue.findIndex((m) => m.type === type);
      if (index >= 0) return this.#queue.splice(index, 1)[0] as Of<T>;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`no ${type} within ${timeoutMs} ms; queued: ${JSON.stringify(this.#queue.map((m) => m.type))}`);
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
  }

  /** Queued messages of `type` received so far (not removed). */
  queued<T extends CoordinatorMessage["type"]>(type: T): Of<T>[] {
    return this.#queue.filter((m) => m.type === type) as Of<T>[];
  }

  /** Drops every queued message. */
  clearQueue(): void {
    this.#queue.length = 0;
  }

  /** Heartbeat with a state and (optionally) the suite the manager believes it runs. */
  heartbeat(state: NodeManagerState, suiteUuid: string | null = null): Promise<Of<"HeartbeatAck">> {
    return this.#expect("HeartbeatAck", { type: "Heartbeat", state, assigned_suite_uuid: suiteUuid });
  }

  /** FetchTask for up to `maxCount` tasks (of `suiteUuid`, when given). */
  fetch(maxCount = 1, suiteUuid?: string, workerLocalId?: number): Promise<Of<"TaskAvailable">> {
    return this.#expect("TaskAvailable", {
      type: "FetchTask",
      max_count: maxCount,
      suite_uuid: suiteUuid,
      worker_local_id: workerLocalId,
    });
  }

  /** ReportTask `op` on task `taskId` (at `attempt`, when given). */
  report(taskId: number, op: ReportTaskOp, attempt?: number): Promise<Of<"TaskReportAck">> {
    return this.#expect("TaskReportAck", { type: "ReportTask", task_id: taskId, op, attempt });
  }

  /** ReportTasks: many reports in one message, a result each. */
  reportMany(reports: TaskReportItem[]): Promise<Of<"TasksReportAck">> {
    return this.#expect("TasksReportAck", { type: "ReportTasks", reports });
  }

  /** Finish then Commit (pipelined: the coordinator keeps reports of one task in order); throws unless both succeed. */
  async commit(task: ManagedTask, exitStatus = 0): Promise<void> {
    const [finish, commit] = await Promise.all([
      this.report(task.id, "Finish", task.attempt),
      this.report(task.id, { Commit: { exit_status: exitStatus, msg: null } }, task.attempt),
    ]);
    if (!finish.success || !commit.success) {
      throw new Error(`commit of ${task.uuid} failed: ${finish.error ?? ""} ${commit.error ?? ""}`);
    }
  }

  /** ReportFailure. */
  failure(body: RequestBody<"ReportFailure">): Promise<Of<"Ack">> {
    return this.#expect("Ack", { type: "ReportFailure", ...body });
  }

  /** AbortTask. */
  abort(taskUuid: string, reason: string): Promise<Of<"Ack">> {
    return this.#expect("Ack", { type: "AbortTask", task_uuid: taskUuid, reason });
  }

  /** ReturnTasks. */
  returnTasks(taskUuids: string[]): Promise<Of<"Ack">> {
    return this.#expect("Ack", { type: "ReturnTasks", task_uuids: taskUuids });
  }

  /** SuiteStarted (with a request id, so it is acknowledged). */
  suiteStarted(suiteUuid: string): Promise<Of<"Ack">> {
    return this.#expect("Ack", { type: "SuiteStarted", suite_uuid: suiteUuid });
  }

  /** SuitePrepareFailed (acknowledged). */
  suitePrepareFailed(suiteUuid: string, error: string): Promise<Of<"Ack">> {
    return this.#expect("Ack", { type: "SuitePrepareFailed", suite_uuid: suiteUuid, error });
  }

  /** SuiteCompleted (acknowledged). */
  suiteCompleted(suiteUuid: string, tasksCompleted = 0, tasksFailed = 0): Promise<Of<"Ack">> {
    return this.#expect("Ack", {
      type: "SuiteCompleted",
      suite_uuid: suiteUuid,
      tasks_completed: tasksCompleted,
      tasks_failed: tasksFailed,
    });
  }

  /**
   * Closes the socket with `code` (default 1000, as a manager that exits;
   * 4001 as one that drops a connection to make a new one) and waits for the
   * close; throws if a frame broke the protocol.
   */
  async close(code = 1000): Promise<void> {
    if (this.#socket.readyState === WebSocket.CONNECTING || this.#socket.readyState === WebSocket.OPEN) {
      this.#socket.close(code, code === 1000 ? "test done" : "dropped by the test");
    }
    await this.closed;
    if (this.protocolErrors.length > 0) throw new Error(`protocol errors: ${this.protocolErrors.join("\n")}`);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Registers a manager, connects it and sends `Heartbeat {state: Idle}` so it can be assigned suites. */
export async function startScriptedManager(
  baseUrl: string,
  userToken: string,
  body: ManagerRegistration = {},
): Promise<WsManager> {
  const creds = await registerManager(baseUrl, userToken, body);
  const manager = await WsManager.connect(baseUrl, creds);
  await manager.heartbeat("Idle");
  return manager;
}

/** Fetches batches of `batch` tasks until a fetch returns none; returns all fetched tasks (uncommitted). */
export async function drainFetch(manager: WsManager, batch: number): Promise<ManagedTask[]> {
  const all: ManagedTask[] = [];
  for (;;) {
    const reply = await manager.fetch(batch);
    if (reply.tasks.length === 0) return all;
    all.push(...reply.tasks);
  }
}
