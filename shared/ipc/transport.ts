/**
 * The IPC transport interface between a node manager and its managed
 * workers (SPEC §7). Backends (`unix.ts`; later iceoryx, iceoryx2) carry the
 * JSON messages of `shared/wire/ipc.ts` and pass one conformance suite
 * (tests/support/ipc_conformance.ts): ordering, 64 concurrent clients,
 * 1 MiB messages, peer-death detection.
 */
import type { ManagerReply, ValidWorkerRequest, WorkerControl, WorkerRequest } from "../wire/ipc.ts";

/** The manager's view of one connected worker. */
export interface IpcPeer {
  /** Connection id, unique within the server. */
  readonly id: number;
  /** Sends a control message to this worker (dropped if it is gone). */
  control(message: WorkerControl): void;
  /** Resolves when the worker disconnects or dies. */
  readonly closed: Promise<void>;
  /**
   * Closes the connection once the replies already sent or being answered
   * have gone out (e.g. after refusing a worker's `Hello`).
   */
  close(): void;
}

/** What the manager does with worker traffic. */
export interface IpcHandler {
  /** Answers one request (requests of one peer may be handled concurrently). */
  onRequest(peer: IpcPeer, request: ValidWorkerRequest): Promise<ManagerReply>;
  /** A worker connected. */
  onConnect?(peer: IpcPeer): void;
  /** A worker disconnected or died. */
  onDisconnect?(peer: IpcPeer): void;
}

/** A listening manager endpoint. */
export interface IpcServer {
  /** The address workers connect to (`--ipc ADDR`). */
  readonly address: string;
  /** Stops accepting, closes every connection. */
  close(): Promise<void>;
}

/** A worker's connection to its manager. */
export interface IpcClient {
  /** Sends a request and resolves with its reply (rejects if the manager goes away first). */
  request(request: WorkerRequest): Promise<ManagerReply>;
  /** Resolves when the manager closes the connection or dies. */
  readonly closed: Promise<void>;
  /** Closes the connection. */
  close(): void;
}

/** A transport backend. */
export interface IpcTransport {
  /** `unix`, `iceoryx`, `iceoryx2`. */
  readonly name: string;
  /** Starts a server; `address` is backend-specific (a socket path for `unix`). */
  serve(address: string, handler: IpcHandler): Promise<IpcServer>;
  /** Connects a worker; control messages go to `onControl`. */
  connect(address: string, onControl: (message: WorkerControl) => void): Promise<IpcClient>;
}
