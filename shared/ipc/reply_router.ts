/**
 * The worker side's bookkeeping shared by every IPC transport: requests
 * awaiting their reply (matched by `request_id`, replies may come out of
 * order), control messages handed to `onControl`, and the end of the
 * connection rejecting whatever is still pending.
 *
 * The common messages are decoded without zod (`fast_check.ts`); the first
 * body that needs the schemas loads them (`messages.ts`). Bodies are handled
 * in the order they arrive, also while one waits for that.
 */
import { type DecodedManagerMessage, decodeManagerMessageFast } from "./fast_check.ts";
import type { ManagerReply, WorkerControl } from "../wire/ipc.ts";
import type { Logger } from "../log/logger.ts";

/** A request awaiting its reply. */
interface Pending {
  resolve: (reply: ManagerReply) => void;
  reject: (error: Error) => void;
}

/** Routes a worker's received messages to its pending requests and control handler. */
export class ReplyRouter {
  readonly #onControl: (message: WorkerControl) => void;
  readonly #log: Logger;
  readonly #pending = new Map<number, Pending>();
  /** Bodies being decoded with the schemas, in arrival order; later bodies wait behind them. */
  #slow: Promise<void> | null = null;

  constructor(onControl: (message: WorkerControl) => void, log: Logger) {
    this.#onControl = onControl;
    this.#log = log;
  }

  /** Requests awaiting a reply. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Registers request `id` and returns its reply promise, after calling
   * `send`; a failing `send` rejects it. A second request with an id still
   * pending is refused.
   */
  register(id: number, send: () => Promise<void> | void): Promise<ManagerReply> {
    if (this.#pending.has(id)) {
      return Promise.reject(new Error(`IPC request_id ${id} is already awaiting a reply`));
    }
    return new Promise<ManagerReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const failed = (error: unknown) => {
        // The entry may already be gone: the connection ended and rejected it.
        if (this.#pending.get(id)?.reject === reject) this.#pending.delete(id);
        reject(error);
      };
      try {
        const sent = send();
        if (sent instanceof Promise) sent.catch(failed);
      } catch (error) {
        failed(error);
      }
    });
  }

  /**
   * Routes one received body. The body is read before this returns unless
   * it needs the schemas, in which case it is copied (it may be a view into
   * memory the transport reuses).
   */
  dispatch(body: Uint8Array): void {
    if (this.#slow === null) {
      const decoded = decodeManagerMessageFast(body);
      if (decoded !== null) return this.#deliver(decoded);
    }
    const copy = body.slice();
    const slow: Promise<void> = (this.#slow ?? Promise.resolve()).then(async () => {
      const { decodeManagerMessage } = await import("./messages.ts");
      this.#deliver(decodeManagerMessage(copy));
    }).catch((error) => this.#log.error("cannot decode IPC message from the manager", { error })).finally(() => {
      if (this.#slow === slow) this.#slow = null;
    });
    this.#slow = slow;
  }

  /** Delivers what arrived before the end, then rejects every pending request with `error()`. */
  async end(error: () => Error): Promise<void> {
    while (this.#slow !== null) await this.#slow;
    const reason = error();
    for (const pending of this.#pending.values()) pending.reject(reason);
    this.#pending.clear();
  }

  #deliver(decoded: DecodedManagerMessage): void {
    if (!decoded.ok) {
      this.#log.warn("dropping unusable IPC message from the manager", { error: decoded.msg });
      return;
    }
    if (decoded.kind === "control") {
      try {
        this.#onControl(decoded.control);
      } catch (error) {
        this.#log.error("IPC control handler failed", { type: decoded.control.type, error });
      }
      return;
    }
    const { reply } = decoded;
    const id = reply.request_id;
    const pending = id === null || id === undefined ? undefined : this.#pending.get(id);
    if (pending === undefined) {
      const fields = { type: reply.type, request_id: id ?? null, msg: reply.type === "Error" ? reply.msg : undefined };
      this.#log.warn("dropping IPC reply that matches no pending request", fields);
      return;
    }
    this.#pending.delete(id!);
    pending.resolve(reply);
  }
}
