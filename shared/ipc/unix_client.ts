/**
 * The worker side of the `unix` IPC transport. Requests carry the caller's
 * `request_id`; replies are matched to pending requests by that id (they may
 * arrive out of order) by a `ReplyRouter`, which also hands control messages
 * to `onControl`. When the connection ends, every pending request rejects
 * and `closed` resolves. Malformed frames from the manager are logged and
 * dropped.
 */
import { FramedConn } from "./framing.ts";
import { ReplyRouter } from "./reply_router.ts";
import type { IpcClient } from "./transport.ts";
import type { ManagerReply, WorkerControl, WorkerRequest } from "../wire/ipc.ts";
import type { Logger } from "../log/logger.ts";

/** A worker's connection to its manager over a Unix domain socket. */
export class UnixClient implements IpcClient {
  readonly closed: Promise<void>;
  readonly #path: string;
  readonly #framed: FramedConn;
  readonly #log: Logger;
  readonly #router: ReplyRouter;
  #ended = false;

  private constructor(path: string, conn: Deno.Conn, onControl: (message: WorkerControl) => void, log: Logger) {
    this.#path = path;
    this.#log = log;
    this.#router = new ReplyRouter(onControl, log);
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
    if (this.#ended) return Promise.reject(this.#closedError());
    return this.#router.register(request.request_id, () => this.#framed.send(request));
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
      for await (const body of this.#framed.frames()) this.#router.dispatch(body);
    } catch (error) {
      this.#log.error("IPC connection failed", { error });
    } finally {
      this.#ended = true;
      this.#framed.close();
      // Replies that arrived before the end are delivered before the rest is rejected.
      await this.#router.end(() => this.#closedError());
    }
  }
}
