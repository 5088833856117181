/**
 * The manager side of the `unix` IPC transport: a Unix domain socket
 * (mode 0600) accepting any number of workers. Each connection's frames are
 * decoded and validated, requests are handled concurrently and answered in
 * whatever order they finish (each reply carries its `request_id`); an
 * unusable frame gets an `Error` reply and the connection stays open. A bad
 * or dying peer only ever ends its own connection.
 */
import { ConnectionClosedError, FramedConn, FrameTooLargeError } from "./framing.ts";
import { admitRequest, answerRequest, MAX_IN_FLIGHT_PER_CONNECTION } from "./request_dispatch.ts";
import type { IpcHandler, IpcPeer, IpcServer } from "./transport.ts";
import type { ManagerReply, ValidWorkerRequest, WorkerControl } from "../wire/ipc.ts";
import type { Logger } from "../log/logger.ts";

export { MAX_IN_FLIGHT_PER_CONNECTION };
/** Pause before accepting again after an accept error (e.g. out of descriptors). */
const ACCEPT_RETRY_MS = 100;

/** A socket file's identity, so that `close()` removes only its own socket. */
interface SocketIdentity {
  dev: number | null;
  ino: number | null;
}

/** Removes a socket file left behind by a dead server; refuses live sockets and other files. */
async function removeStaleSocket(path: string, log: Logger): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (!info.isSocket) {
    throw new Deno.errors.AlreadyExists(`IPC socket path ${path} exists and is not a socket: refusing to replace it`);
  }
  let live: Deno.Conn | null = null;
  try {
    live = await Deno.connect({ transport: "unix", path });
  } catch (error) {
    if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
  }
  if (live !== null) {
    live.close();
    throw new Deno.errors.AddrInUse(`IPC socket ${path} is in use by a running server`);
  }
  log.info("removing stale IPC socket file", { path });
  await Deno.remove(path).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}

/** One accepted worker connection. */
class UnixPeer implements IpcPeer {
  readonly id: number;
  readonly closed: Promise<void>;
  readonly #framed: FramedConn;
  readonly #log: Logger;

  constructor(id: number, framed: FramedConn, log: Logger) {
    this.id = id;
    this.#framed = framed;
    this.#log = log;
    this.closed = framed.closed;
  }

  control(message: WorkerControl): void {
    this.#framed.send(message).catch((error) => {
      this.#log.debug("IPC control message dropped: peer gone", { type: message.type, error });
    });
  }

  /** Set by `close()`: the server closes the connection once the current reply is sent. */
  closeRequested = false;

  close(): void {
    this.closeRequested = true;
  }
}

/** A listening `unix` transport server. */
export class UnixServer implements IpcServer {
  readonly address: string;
  readonly #listener: Deno.UnixListener;
  readonly #handler: IpcHandler;
  readonly #log: Logger;
  readonly #identity: SocketIdentity;
  readonly #connections = new Map<number, FramedConn>();
  readonly #serving = new Set<Promise<void>>();
  #nextId = 1;
  #closing = false;
  #acceptLoop: Promise<void> = Promise.resolve();

  private constructor(
    address: string,
    listener: Deno.UnixListener,
    identity: SocketIdentity,
    handler: IpcHandler,
    log: Logger,
  ) {
    this.address = address;
    this.#listener = listener;
    this.#identity = identity;
    this.#handler = handler;
    this.#log = log;
  }

  /** Listens on `path` (replacing a stale socket file) and starts accepting. */
  static async listen(path: string, handler: IpcHandler, log: Logger): Promise<UnixServer> {
    await removeStaleSocket(path, log);
    let listener: Deno.UnixListener;
    try {
      listener = Deno.listen({ transport: "unix", path });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`cannot listen on IPC socket ${path}: ${reason}`, { cause: error });
    }
    let identity: SocketIdentity;
    try {
      await Deno.chmod(path, 0o600);
      const info = await Deno.lstat(path);
      identity = { dev: info.dev, ino: info.ino };
    } catch (error) {
      listener.close();
      throw error;
    }
    const server = new UnixServer(path, listener, identity, handler, log.child({ socket: path }));
    server.#acceptLoop = server.#accept();
    server.#log.debug("IPC server listening");
    return server;
  }

  async #accept(): Promise<void> {
    while (!this.#closing) {
      let conn: Deno.UnixConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closing) return;
        this.#log.error("IPC accept failed", { error });
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
        continue;
      }
      if (this.#closing) {
        conn.close();
        return;
      }
      const serving = this.#serve(conn);
      this.#serving.add(serving);
      void serving.finally(() => this.#serving.delete(serving));
    }
  }

  /** Serves one connection until it ends. */
  async #serve(conn: Deno.Conn): Promise<void> {
    const id = this.#nextId++;
    const log = this.#log.child({ peer: id });
    const framed = new FramedConn(conn, { log });
    const peer = new UnixPeer(id, framed, log);
    this.#connections.set(id, framed);
    this.#callback("onConnect", peer, log);
    let inFlight = 0;
    try {
      for await (const body of framed.frames()) {
        const admitted = admitRequest(body, inFlight, log);
        if (!admitted.ok) {
          this.#reply(framed, admitted.reply, log);
          continue;
        }
        const { request } = admitted;
        inFlight++;
        void this.#answer(peer, framed, request, log).finally(() => inFlight--);
      }
    } catch (error) {
      log.error("IPC connection failed", { error });
    } finally {
      framed.close();
      this.#connections.delete(id);
      this.#callback("onDisconnect", peer, log);
    }
  }

  /** Runs the handler for one request and sends its reply (or an `Error`). */
  async #answer(peer: UnixPeer, framed: FramedConn, request: ValidWorkerRequest, log: Logger): Promise<void> {
    const reply = await answerRequest(this.#handler, peer, request, log);
    const sent = this.#reply(framed, reply, log);
    if (peer.closeRequested) {
      await sent;
      log.debug("IPC connection closed by the manager", { type: request.type, reply: reply.type });
      framed.close();
    }
  }

  /** Sends a reply; one too large is replaced by an `Error`, one to a gone peer is dropped. Resolves once settled. */
  #reply(framed: FramedConn, reply: ManagerReply, log: Logger): Promise<void> {
    return framed.send(reply).catch((error) => {
      if (error instanceof FrameTooLargeError) {
        log.error("IPC reply too large", { type: reply.type, request_id: reply.request_id, error });
        const msg = `${reply.type} of ${error.bytes} bytes exceeds the IPC message limit of ${error.limit} bytes`;
        return this.#reply(framed, { type: "Error", request_id: reply.request_id, msg }, log);
      } else if (error instanceof ConnectionClosedError) {
        log.debug("IPC reply dropped: peer gone", { type: reply.type, request_id: reply.request_id });
      } else {
        log.error("IPC reply failed", { type: reply.type, request_id: reply.request_id, error });
      }
    });
  }

  /** Calls an optional handler callback; a throwing callback is logged, never fatal. */
  #callback(name: "onConnect" | "onDisconnect", peer: IpcPeer, log: Logger): void {
    try {
      this.#handler[name]?.(peer);
    } catch (error) {
      log.error(`IPC ${name} callback failed`, { error });
    }
  }

  async close(): Promise<void> {
    if (this.#closing) {
      await this.#acceptLoop;
      await Promise.all(this.#serving);
      return;
    }
    this.#closing = true;
    try {
      this.#listener.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) this.#log.warn("closing IPC listener failed", { error });
    }
    for (const framed of this.#connections.values()) framed.close();
    await this.#acceptLoop;
    await Promise.all(this.#serving);
    await this.#removeSocketFile();
    this.#log.debug("IPC server closed");
  }

  /** Removes the socket file if it is still this server's (Deno may already have unlinked it). */
  async #removeSocketFile(): Promise<void> {
    try {
      const info = await Deno.lstat(this.address);
      if (info.ino !== this.#identity.ino || info.dev !== this.#identity.dev) return;
      await Deno.remove(this.address);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        this.#log.warn("removing IPC socket file failed", { path: this.address, error });
      }
    }
  }
}
