/**
 * The manager's WebSocket to the coordinator (`/ws/managers`, Bearer token),
 * kept open for the manager's whole life:
 *
 * - **Requests** get increasing `request_id`s and resolve with the reply
 *   carrying the same id (replies may come in any order; up to
 *   `maxInFlight` are outstanding, the rest wait in order). An `Error` reply
 *   rejects with `CoordinatorRequestError`.
 * - **Greeting**: the `greeting` request (`HeldTasks`) is sent first on
 *   every connection, and nothing else is sent on it before its reply; an
 *   `Error` reply, or none within the connect timeout, drops the connection
 *   (made again with backoff). `connected` is true only once it is answered.
 * - **While disconnected** requests wait in the queue and are sent, in the
 *   order they were made, right after reconnection (after the greeting and
 *   the heartbeat the `onOpen` callback sends). Requests that were sent but not answered when
 *   the connection dropped are sent again first (at-least-once: the
 *   coordinator refuses a repeated report that already took effect with
 *   `success: false`). Requests made with `resend: false` (heartbeats) are
 *   sent only on an open connection and fail with `NotConnectedError`
 *   otherwise. Once `giveUpWhenDisconnected` was called (the manager is
 *   stopping and its delivery time is over), no request waits for a
 *   connection any more: queued ones fail with `NotConnectedError`, so do
 *   new ones made while disconnected and those cut off by a lost connection.
 * - **Reconnection** with exponential backoff (1 s, 2 s, 4 s … 60 s, with
 *   jitter), reset once a connection has stayed open `healthyAfterMs`. Each
 *   failed attempt logs `WebSocket connection failed`; the first success
 *   after a lost connection logs `WebSocket reconnected`. After a failed
 *   attempt the token is checked over REST; when the coordinator rejects it
 *   (401), `onTokenRejected` registers the manager again.
 * - **Pushes** (frames without a known `request_id`) go to `onPush` in
 *   arrival order.
 */
import {
  type CoordinatorMessage,
  CoordinatorMessageSchema,
  type CoordinatorPush,
  MANAGER_EXIT_CLOSE_CODE,
  type ManagerMessage,
} from "../../shared/wire/manager_ws.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { TokenCheck } from "../manager_api.ts";
import { Backoff, type BackoffOptions, sleep } from "./backoff.ts";
import { openWebSocket, WebSocket, type WsCloseEvent, type WsErrorEvent } from "./websocket.ts";

/** A manager message without its `request_id` (the connection numbers requests). */
export type ManagerRequest = ManagerMessage extends infer M ? M extends ManagerMessage ? Omit<M, "request_id"> : never
  : never;

/** The coordinator answered a request with `Error {msg}`. */
export class CoordinatorRequestError extends Error {
  constructor(type: string, msg: string) {
    super(`coordinator refused ${type}: ${msg}`);
    this.name = "CoordinatorRequestError";
  }
}

/** A `resend: false` request could not be sent, or was cut off by a lost connection. */
export class NotConnectedError extends Error {
  constructor(message = "not connected to the coordinator") {
    super(message);
    this.name = "NotConnectedError";
  }
}

/** The connection was closed for good (manager exiting); pending requests fail with this. */
export class ConnectionClosedError extends Error {
  constructor() {
    super("the connection to the coordinator was closed");
    this.name = "ConnectionClosedError";
  }
}

/** What the connection needs from the rest of the manager. */
export interface ConnectionOptions {
  /** Coordinator base URL (`http://…` or `https://…`). */
  baseUrl: string;
  /** The current manager token, read at every connection attempt. */
  token: () => string;
  log: Logger;
  /** Receives every push, in arrival order. */
  onPush: (push: CoordinatorPush) => void;
  /** The request sent first on every connection, before any other (the manager's `HeldTasks`). */
  greeting?: () => ManagerRequest;
  /** Runs on each open connection before queued requests are flushed; `first` for the process's first one. */
  onOpen: (first: boolean) => void;
  /** Whether the coordinator accepts the token (asked after a failed attempt). */
  checkToken: () => Promise<TokenCheck>;
  /** Registers the manager again after the coordinator rejected its token. */
  onTokenRejected: () => Promise<void>;
  backoff?: BackoffOptions;
  /** A connection open this long counts as healthy and resets the backoff (default 10 s). */
  healthyAfterMs?: number;
  /** Requests outstanding at once (default 1,024; the coordinator allows 4,096). */
  maxInFlight?: number;
  /** Limit of one connection attempt (default 30 s). */
  connectTimeoutMs?: number;
}

/** Options of one request. */
export interface RequestOptions {
  /** Queue while disconnected and send again after a lost connection (default true). */
  resend?: boolean;
  /** Fail with `NotConnectedError` and drop the connection when no reply comes within this time. */
  timeoutMs?: number;
}

interface PendingRequest {
  readonly id: number;
  readonly type: string;
  readonly frame: string;
  readonly resend: boolean;
  sent: boolean;
  timer?: ReturnType<typeof setTimeout>;
  resolve(reply: CoordinatorMessage): void;
  reject(error: Error): void;
}

const PUSH_TYPES: ReadonlySet<string> = new Set<CoordinatorPush["type"]>([
  "SuiteAssigned",
  "CancelTask",
  "CancelSuite",
  "SuiteReclaimed",
  "ConfigUpdate",
  "Shutdown",
]);

function isPush(message: CoordinatorMessage): message is CoordinatorPush {
  return PUSH_TYPES.has(message.type);
}

/** Close code the coordinator uses when a newer connection of the same manager replaced this one. */
const REPLACED_CODE = 4000;

/** The `/ws/managers` URL of a coordinator base URL. */
export function managerSocketUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, "").replace(/^http/, "ws")}/ws/managers`;
}

/** The reconnecting WebSocket link of one manager. */
export class CoordinatorConnection {
  readonly #o: ConnectionOptions;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  readonly #pending = new Map<number, PendingRequest>();
  /** Ids of requests waiting to be sent, in order. */
  #queue: number[] = [];
  #inFlight = 0;
  #nextId = 1;
  #socket: WebSocket | null = null;
  /** True once the current connection's greeting was answered: other requests may go. */
  #ready = false;
  /** The greeting in flight on the current connection. */
  #greeting: { id: number; settle: (reply: CoordinatorMessage | Error) => void } | null = null;
  /** Requests no longer wait for a connection (see `giveUpWhenDisconnected`). */
  #failFast = false;
  readonly #closing = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: ConnectionOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#backoff = new Backoff(options.backoff);
  }

  /** True while a connection is open and its greeting was answered. */
  get connected(): boolean {
    return this.#ready && this.#socket !== null && this.#socket.readyState === WebSocket.OPEN;
  }

  /** True once requests no longer wait for a connection. */
  get givingUp(): boolean {
    return this.#failFast;
  }

  /**
   * From now on no request waits for a connection: queued ones fail with
   * `NotConnectedError` unless a connection is open, and so do later ones
   * made while disconnected or cut off by a lost connection. Used when the
   * manager stops: what the coordinator did not get by then is reclaimed by
   * its heartbeat timeout.
   */
  giveUpWhenDisconnected(): void {
    if (this.#failFast) return;
    this.#failFast = true;
    if (!this.connected) this.#failQueued();
  }

  /** Fails every request not sent yet (fail-fast while disconnected). */
  #failQueued(): void {
    const queued = [...this.#pending.values()].filter((entry) => !entry.sent);
    if (queued.length > 0) {
      this.#log.warn("coordinator unreachable while stopping; giving up on requests not sent", {
        count: queued.length,
        types: [...new Set(queued.map((entry) => entry.type))],
      });
    }
    for (const entry of queued) {
      this.#settle(entry);
      entry.reject(new NotConnectedError(`coordinator unreachable: ${entry.type} not sent`));
    }
  }

  /** Requests made but not answered yet (queued or in flight). */
  get pendingRequests(): number {
    return this.#pending.size;
  }

  /** Starts connecting (and reconnecting until `close`). */
  start(): void {
    this.#loop ??= this.#run().catch((error) => this.#log.error("connection loop failed", { error }));
  }

  /** Sends a request and resolves with its reply (see the module comment for queueing). */
  request(message: ManagerRequest, options: RequestOptions = {}): Promise<CoordinatorMessage> {
    if (this.#closing.signal.aborted) return Promise.reject(new ConnectionClosedError());
    const resend = options.resend ?? true;
    if ((!resend || this.#failFast) && !this.connected) return Promise.reject(new NotConnectedError());
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const entry: PendingRequest = {
        id,
        type: message.type,
        frame: JSON.stringify({ ...message, request_id: id }),
        resend,
        sent: false,
        resolve,
        reject,
      };
      if (options.timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          if (!this.#pending.has(id)) return;
          this.#settle(entry);
          reject(new NotConnectedError(`no reply to ${message.type} within ${options.timeoutMs} ms`));
          this.drop(`no reply to ${message.type} within ${options.timeoutMs} ms`);
        }, options.timeoutMs);
      }
      this.#pending.set(id, entry);
      if (!resend) this.#queue.unshift(id);
      else this.#queue.push(id);
      this.#flush();
    });
  }

  /** Closes the current connection so that a new one is made (e.g. when the coordinator stopped answering). */
  drop(reason: string): void {
    const socket = this.#socket;
    if (socket === null) return;
    this.#log.warn("dropping the WebSocket connection", { reason });
    try {
      socket.close(4001, reason.slice(0, 100));
    } catch (error) {
      this.#log.debug("closing the WebSocket failed", { error });
    }
  }

  /** Stops for good: closes the socket and fails every pending request with `ConnectionClosedError`. */
  async close(): Promise<void> {
    if (!this.#closing.signal.aborted) {
      this.#closing.abort();
      const socket = this.#socket;
      if (socket !== null) {
        try {
          socket.close(MANAGER_EXIT_CLOSE_CODE, "manager exiting");
        } catch (error) {
          this.#log.debug("closing the WebSocket failed", { error });
        }
      }
      for (const entry of [...this.#pending.values()]) {
        this.#settle(entry);
        entry.reject(new ConnectionClosedError());
      }
    }
    await this.#loop;
  }

  /** Removes a request from the books (answered, timed out, or failed). */
  #settle(entry: PendingRequest): void {
    if (!this.#pending.delete(entry.id)) return;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (entry.sent) this.#inFlight--;
    else this.#queue = this.#queue.filter((id) => id !== entry.id);
  }

  /** Sends queued requests while the connection is open and the in-flight limit allows. */
  #flush(): void {
    const socket = this.#socket;
    if (!this.#ready || socket === null || socket.readyState !== WebSocket.OPEN) return;
    const limit = this.#o.maxInFlight ?? 1024;
    while (this.#queue.length > 0 && this.#inFlight < limit) {
      const id = this.#queue.shift()!;
      const entry = this.#pending.get(id);
      if (entry === undefined) continue;
      try {
        socket.send(entry.frame);
      } catch (error) {
        // The socket is closing: keep the request for the next connection.
        this.#queue.unshift(id);
        this.#log.debug("send failed; the request waits for the next connection", { type: entry.type, error });
        return;
      }
      entry.sent = true;
      this.#inFlight++;
    }
  }

  /** Handles one frame from the coordinator. */
  #receive(data: unknown): void {
    if (typeof data !== "string") {
      this.#log.warn("binary frame from the coordinator ignored");
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch (error) {
      this.#log.warn("unreadable frame from the coordinator ignored", { error, frame: data.slice(0, 200) });
      return;
    }
    const parsed = CoordinatorMessageSchema.safeParse(json);
    if (!parsed.success) {
      this.#log.warn("frame from the coordinator does not match the protocol; ignored", {
        frame: data.slice(0, 200),
        error: parsed.error.message.slice(0, 500),
      });
      return;
    }
    const message = parsed.data;
    const id = "request_id" in message ? message.request_id : null;
    const greeting = this.#greeting;
    if (greeting !== null && id === greeting.id) {
      this.#greeting = null;
      greeting.settle(message);
      return;
    }
    const entry = typeof id === "number" ? this.#pending.get(id) : undefined;
    if (entry !== undefined) {
      this.#settle(entry);
      if (message.type === "Error") entry.reject(new CoordinatorRequestError(entry.type, message.msg));
      else entry.resolve(message);
      this.#flush();
      return;
    }
    if (isPush(message)) {
      this.#o.onPush(message);
      return;
    }
    if (message.type === "Error") {
      this.#log.warn("error from the coordinator", { request_id: id, msg: message.msg });
      return;
    }
    this.#log.debug("reply to a request no longer pending ignored", { type: message.type, request_id: id });
  }

  /** After a lost connection: unanswered requests go back to the queue front (or fail when not resendable). */
  #requeue(): void {
    const again: number[] = [];
    for (const entry of [...this.#pending.values()]) {
      if (!entry.sent) continue;
      if (!entry.resend || this.#failFast) {
        this.#settle(entry);
        entry.reject(new NotConnectedError(`the connection was lost before the reply to ${entry.type}`));
        continue;
      }
      entry.sent = false;
      this.#inFlight--;
      again.push(entry.id);
    }
    again.sort((a, b) => a - b);
    this.#queue = [...again, ...this.#queue];
    if (again.length > 0) {
      this.#log.info("requests without a reply will be sent again after reconnection", { count: again.length });
    }
    if (this.#failFast) this.#failQueued();
  }

  /** Opens one connection; rejects when it fails or takes longer than the connect timeout. */
  #open(): Promise<WebSocket> {
    const socket = openWebSocket(managerSocketUrl(this.#o.baseUrl), { Authorization: `Bearer ${this.#o.token()}` });
    // Listening from the start: a frame that arrives with the upgrade response is dispatched in the same turn as
    // "open", before the code awaiting this promise runs, and would otherwise be lost (a Shutdown sent at connect).
    socket.addEventListener("message", (event) => this.#receive(event.data));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error("connection attempt timed out")),
        this.#o.connectTimeoutMs ?? 30_000,
      );
      const cleanup = () => {
        clearTimeout(timer);
        socket.removeEventListener("open", onOpen);
        socket.removeEventListener("error", onError);
        socket.removeEventListener("close", onClose);
        this.#closing.signal.removeEventListener("abort", onAbort);
      };
      const fail = (error: Error) => {
        cleanup();
        try {
          socket.close();
        } catch {
          // never opened: nothing to close
        }
        reject(error);
      };
      const onOpen = () => {
        cleanup();
        resolve(socket);
      };
      const onError = (event: WsErrorEvent) => fail(new Error(event.message || "WebSocket error"));
      const onClose = (event: WsCloseEvent) => fail(new Error(`closed before opening (code ${event.code})`));
      const onAbort = () => fail(new ConnectionClosedError());
      socket.addEventListener("open", onOpen);
      socket.addEventListener("error", onError);
      socket.addEventListener("close", onClose);
      this.#closing.signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** After a failed attempt: re-register when the coordinator rejects the token. */
  async #checkToken(): Promise<void> {
    let check: TokenCheck;
    try {
      check = await this.#o.checkToken();
    } catch (error) {
      this.#log.warn("cannot check the manager token", { error });
      return;
    }
    if (check !== "rejected") return;
    this.#log.warn("the coordinator rejects the manager token; registering again");
    try {
      await this.#o.onTokenRejected();
    } catch (error) {
      this.#log.error("registering the manager again failed; will retry", { error });
    }
  }

  /**
   * Sends the greeting on a fresh connection and awaits its reply; false
   * (the socket then closing) when it was refused, unanswered in time, or
   * the connection closed first.
   */
  async #greet(socket: WebSocket, closed: Promise<WsCloseEvent>): Promise<boolean> {
    const make = this.#o.greeting;
    if (make === undefined) return true;
    const message = make();
    const id = this.#nextId++;
    const limitMs = this.#o.connectTimeoutMs ?? 30_000;
    const reply = await new Promise<CoordinatorMessage | Error>((resolve) => {
      const timer = setTimeout(() => resolve(new Error(`no reply to ${message.type} within ${limitMs} ms`)), limitMs);
      const settle = (result: CoordinatorMessage | Error) => {
        clearTimeout(timer);
        resolve(result);
      };
      this.#greeting = { id, settle };
      closed.then(() => settle(new Error(`the connection closed before the reply to ${message.type}`)));
      try {
        socket.send(JSON.stringify({ ...message, request_id: id }));
      } catch (error) {
        settle(error instanceof Error ? error : new Error(String(error)));
      }
    });
    this.#greeting = null;
    if (!(reply instanceof Error) && reply.type !== "Error") return true;
    const error = reply instanceof Error ? reply.message : reply.msg;
    this.#log.warn(`${message.type} not accepted; connecting again`, { error });
    try {
      socket.close(4001, `${message.type} failed`);
    } catch (closeError) {
      this.#log.debug("closing the WebSocket failed", { error: closeError });
    }
    return false;
  }

  async #run(): Promise<void> {
    const signal = this.#closing.signal;
    let first = true;
    let lost = false;
    while (!signal.aborted) {
      let socket: WebSocket;
      try {
        socket = await this.#open();
      } catch (error) {
        if (signal.aborted) break;
        const delay = this.#backoff.next();
        this.#log.warn("WebSocket connection failed", {
          url: managerSocketUrl(this.#o.baseUrl),
          error: (error as Error).message,
          attempt: this.#backoff.attempts,
          retry_in_ms: delay,
        });
        await this.#checkToken();
        await sleep(delay, signal);
        continue;
      }
      this.#socket = socket;
      this.#ready = false;
      if (lost) this.#log.info("WebSocket reconnected", { url: managerSocketUrl(this.#o.baseUrl) });
      else this.#log.info("WebSocket connected", { url: managerSocketUrl(this.#o.baseUrl) });
      const closed = new Promise<WsCloseEvent>((resolve) => socket.addEventListener("close", resolve, { once: true }));
      socket.addEventListener("error", (event) => {
        this.#log.debug("WebSocket error", { error: event.message || event.type });
      });
      const healthy = setTimeout(() => this.#backoff.reset(), this.#o.healthyAfterMs ?? 10_000);
      if (!await this.#greet(socket, closed)) {
        clearTimeout(healthy);
        await closed;
        this.#socket = null;
        if (signal.aborted) break;
        lost = true;
        this.#requeue();
        const delay = this.#backoff.next();
        await sleep(delay, signal);
        continue;
      }
      this.#ready = true;
      try {
        this.#o.onOpen(first);
      } catch (error) {
        this.#log.error("connection open handler failed", { error });
      }
      first = false;
      this.#flush();
      const event = await closed;
      clearTimeout(healthy);
      this.#socket = null;
      this.#ready = false;
      if (signal.aborted) break;
      lost = true;
      if (event.code === REPLACED_CODE) {
        this.#log.error(
          "a newer connection of this manager replaced this one: is another process using this state dir?",
          {
            code: event.code,
            reason: event.reason,
          },
        );
      } else {
        this.#log.warn("WebSocket connection lost", { code: event.code, reason: event.reason });
      }
      this.#requeue();
      const delay = this.#backoff.next();
      await sleep(delay, signal);
    }
  }
}
