/**
 * Harness of the IPC conformance suite: a recording server fixture, message
 * builders, deadlines, and real peer processes (`ipc_peer.ts`) for the
 * peer-death cases.
 */
import type { IpcClient, IpcHandler, IpcPeer, IpcServer, IpcTransport } from "../../shared/ipc/transport.ts";
import type { ManagerReply, ValidWorkerRequest, WorkerControl } from "../../shared/wire/ipc.ts";
import type { ManagedTask } from "../../shared/wire/manager_ws.ts";

/** Generous deadline for anything awaited in these tests (a loaded 2-core machine is slow, never stuck). */
export const DEADLINE_MS = 30_000;
const PEER_SCRIPT = new URL("./ipc_peer.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

/** Resolves with `promise`, or rejects naming `what` after `ms`. */
export async function within<T>(promise: Promise<T>, what: string, ms = DEADLINE_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` every 10 ms until it holds; rejects naming `what` after `ms`. */
export async function eventually(condition: () => boolean, what: string, ms = DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A deterministic string of `bytes` ASCII characters (varied, so corruption shows). */
export function bigString(bytes: number, seed = 1): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
  let state = seed >>> 0 || 1;
  const chars = new Array<string>(bytes);
  for (let i = 0; i < bytes; i++) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    chars[i] = alphabet[state >>> 26];
  }
  return chars.join("");
}

/** A suite task as the manager would hand it to a worker. */
export function managedTask(id: number, args: string[]): ManagedTask {
  return {
    id,
    uuid: crypto.randomUUID(),
    timeout: "10m",
    spec: { args, envs: {}, resources: [], terminal_output: false, watch: null },
    upstream_task_uuid: null,
    attempt: 1,
    suite_uuid: crypto.randomUUID(),
  };
}

/** The default answer: FetchTask → a task whose args name the worker and request; others succeed. */
export function echoReply(request: ValidWorkerRequest): ManagerReply {
  switch (request.type) {
    case "FetchTask":
      return {
        type: "FetchTaskReply",
        request_id: request.request_id,
        task: managedTask(request.request_id, ["echo", String(request.worker_local_id), String(request.request_id)]),
      };
    case "ReportTask":
      return { type: "ReportTaskReply", request_id: request.request_id, success: true, url: null };
    case "Heartbeat":
      return { type: "HeartbeatReply", request_id: request.request_id };
    default:
      return { type: "Error", request_id: request.request_id, msg: `${request.type} is not used by these tests` };
  }
}

/** How a fixture answers one request. */
export type Respond = (request: ValidWorkerRequest, peer: IpcPeer) => ManagerReply | Promise<ManagerReply>;

/** A server that records its traffic, plus the clients a test connected to it. */
export class ServerFixture implements AsyncDisposable {
  readonly transport: IpcTransport;
  /** Every valid request, in arrival order, with the peer it came from. */
  readonly requests: { peer: number; request: ValidWorkerRequest }[] = [];
  readonly connected: IpcPeer[] = [];
  readonly disconnected: IpcPeer[] = [];
  /** The last peer that sent a request, by `worker_local_id`. */
  readonly peersByWorker = new Map<number, IpcPeer>();
  readonly #clients: IpcClient[] = [];
  #server: IpcServer | null = null;

  private constructor(transport: IpcTransport) {
    this.transport = transport;
  }

  /** The running server. */
  get server(): IpcServer {
    if (this.#server === null) throw new Error("the fixture's server is not started");
    return this.#server;
  }

  /** Starts a server at `address` answering with `respond` (default `echoReply`). */
  static async start(transport: IpcTransport, address: string, respond: Respond = echoReply): Promise<ServerFixture> {
    const fixture = new ServerFixture(transport);
    const handler: IpcHandler = {
      onRequest: (peer, request) => {
        fixture.requests.push({ peer: peer.id, request });
        fixture.peersByWorker.set(request.worker_local_id, peer);
        return Promise.resolve(respond(request, peer));
      },
      onConnect: (peer) => fixture.connected.push(peer),
      onDisconnect: (peer) => fixture.disconnected.push(peer),
    };
    fixture.#server = await transport.serve(address, handler);
    return fixture;
  }

  /** Connects a client that collects its control messages in `controls`. */
  async connect(): Promise<{ client: IpcClient; controls: WorkerControl[] }> {
    const controls: WorkerControl[] = [];
    const client = await this.transport.connect(this.server.address, (message) => controls.push(message));
    this.#clients.push(client);
    return { client, controls };
  }

  /** Waits until the peer with `id` has been reported disconnected. */
  async disconnectedPeer(id: number): Promise<IpcPeer> {
    await eventually(() => this.disconnected.some((p) => p.id === id), `onDisconnect of peer ${id}`);
    return this.disconnected.find((p) => p.id === id)!;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const client of this.#clients) client.close();
    await Promise.all(this.#clients.map((c) => within(c.closed, "a client to close")));
    await this.server.close();
  }
}

/** A peer running in its own `deno run` process (see `ipc_peer.ts`). */
export class PeerProcess implements AsyncDisposable {
  readonly #process: Deno.ChildProcess;
  readonly #exited: Promise<Deno.CommandStatus>;
  #exitedFlag = false;
  #stdout = "";
  #stderr = "";

  private constructor(process: Deno.ChildProcess) {
    this.#process = process;
    const drained = Promise.all([
      (async () => {
        for await (const chunk of process.stdout) this.#stdout += decoder.decode(chunk, { stream: true });
      })(),
      (async () => {
        for await (const chunk of process.stderr) this.#stderr += decoder.decode(chunk, { stream: true });
      })(),
    ]);
    this.#exited = process.status.then(async (status) => {
      await drained;
      this.#exitedFlag = true;
      return status;
    });
  }

  /**
   * Starts `ipc_peer.ts <mode> <transport> <address> <worker_local_id>` and
   * waits for its `ready` line.
   */
  static async start(
    mode: "client" | "server",
    transport: string,
    address: string,
    workerLocalId = 0,
  ): Promise<PeerProcess> {
    const process = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", PEER_SCRIPT, mode, transport, address, String(workerLocalId)],
      env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const peer = new PeerProcess(process);
    try {
      await eventually(
        () => peer.#stdout.includes("ready\n") || peer.exited,
        `the ${mode} peer process to be ready`,
        60_000,
      );
      if (!peer.#stdout.includes("ready\n")) throw new Error(`the ${mode} peer process exited early`);
    } catch (error) {
      await peer[Symbol.asyncDispose]();
      throw new Error(`${(error as Error).message}; stderr: ${peer.#stderr}`);
    }
    return peer;
  }

  /** Whether the process has exited. */
  get exited(): boolean {
    return this.#exitedFlag;
  }

  /** What the process wrote to stderr so far. */
  stderr(): string {
    return this.#stderr;
  }

  /** Sends SIGKILL and waits for the exit. */
  async kill(): Promise<Deno.CommandStatus> {
    if (!this.#exitedFlag) {
      try {
        this.#process.kill("SIGKILL");
      } catch (error) {
        // It may have exited between the check and the signal; anything else is a real failure.
        if (!(error instanceof TypeError)) throw error;
      }
    }
    return await within(this.#exited, "the peer process to exit");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
  }
}
