/**
 * The worker side of the `unix` IPC transport. Requests carry the caller's
 * `request_id`; replies are matched to pending requests by that id (they may
 * arrive out of order). Control messages go to `onControl`. When the
 * connection ends, every pending request rejects and `closed` resolves.
 * Malformed frames from the manager are logged and dropped.
 *
 * The common messages are decoded without zod (`fast_check.ts`); the first
 * frame that needs the schemas loads them (`messages.ts`). Frames are
 * handled in the order they arrive, also while one waits for that.
 */
import { FramedConn } from "./framing.ts";
import { type DecodedManagerMessage, decodeManagerMessageFast } from "./fast_check.ts";
import type { IpcClient } from "./transport.ts";
import type { ManagerReply, WorkerControl, WorkerRequest } from "../wire/ipc.ts";
import type { Logger } from "../log/logger.ts";

/** A request awaiting its reply. */
interface Pending {
  resolve: (reply: ManagerReply) => void;
  reject: (error: Error) => void;
}

/** A worker's connection to its manager over a Unix domain socket. */
export class UnixClient implements IpcClient {
  readonly closed: Promise<void>;
  readonly #path: string;
  readonly #framed: FramedConn;
  readonly #onControl: (message: WorkerControl) => void;
  readonly #log: Logger;
  readonly #pending = new Map<number, Pending>();
  #ended = false;
  /** Frames being decoded with the schemas, in arrival order; later frames wait behind them. */
  #slow: Promise<void> | null = null;

  private constructor(path: string, conn: Deno.Conn, onControl: (message: WorkerControl) => void, log: Logger) {
    this.#path = path;
    this.#log = log;
    this.#onControl = onControl;
    this.#framed = new FramedConn(conn, { log });
    this.closed = this.#read();
  }

  /** Connects to the manager's socket at `path`. */
  static async connect(
    path: string,
    onControl: (message: WorkerControl) => void,
    log: Logger,
  ): Promise<UnixClient> {
    let conn: Deno.Conn;
    try {
      conn = await Deno.connect({ transport: "unix", path });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`cannot connect to the manager's IPC socket ${path}: ${reason}`, { cause: error });
    }
    return new UnixClient(path, conn, onControl, log.child({ socket: path }));
  }

  request(request: WorkerRequest): Promise<ManagerReply> {
    const id = request.request_id;
    if (this.#ended) return Promise.reject(this.#closedError());
    if (this.#pending.has(id)) {
      return Promise.reject(new Error(`IPC request_id ${id} is already awaiting a reply`));
    }
    return new Promise<ManagerReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#framed.send(request).catch((error) => {
        // The entry may already be gone: the connection ended and rejected it.
        if (this.#pending.get(id)?.reject === reject) this.#pending.delete(id);
        reject(error);
      });
    });
  }

  close(): void {
    this.#framed.close();
  }

  #closedError(): Error {
    return new Error(`IPC connection to ${this.#path} closed before the reply arrived`);
  }

  /** Reads until the connection ends, then rejects what is pending. */
  async #read(): Promise<void> {
    try {
      for await (const body of this.#framed.frames()) this.#dispatch(body);
    } catch (error) {
      this.#log.error("IPC connection failed", { error });
    } finally {
      this.#ended = true;
      this.#framed.close();
      // Replies that arrived before the end are delivered before the rest is rejected.
      while (this.#slow !== null) await this.#slow;
      const error = this.#closedError();
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    }
  }

  /** Routes one received frame to its pending request or to `onControl`. */
  #dispatch(body: Uint8Array): void {
    if (this.#slow === null) {
      const decoded = decodeManagerMessageFast(body);
      if (decoded !== null) return this.#deliver(decoded);
    }
    const slow: Promise<void> = (this.#slow ?? Promise.resolve()).then(async () => {
      const { decodeManagerMessage } = await import("./messages.ts");
      this.#deliver(decodeManagerMessage(body));
    }).catch((error) => this.#log.error("cannot decode IPC frame from the manager", { error })).finally(() => {
      if (this.#slow === slow) this.#slow = null;
    });
    this.#slow = slow;
  }

  #deliver(decoded: DecodedManagerMessage): void {
    if (!decoded.ok) {
      this.#log.warn("dropping unusable IPC frame from the manager", { error: decoded.msg });
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
