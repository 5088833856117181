/**
 * The manager side of the `iceoryx` IPC transport. Every worker publishes
 * its frames on the endpoint's one `requests` topic (one subscriber here,
 * many publishers); the manager answers each connection on a topic of its
 * own (one publisher per worker). A connection starts with the worker's
 * `Connect` (its pid) and the manager's `Welcome`; requests are decoded in
 * place from shared memory, handled concurrently and answered in whatever
 * order they finish, as on the `unix` transport.
 *
 * Flow control keeps both queues from ever filling: a worker has at most
 * `CLIENT_CREDIT` messages unacknowledged in the manager's queue, the
 * manager at most `SERVER_CREDIT` in a worker's; every frame carries how
 * many frames of the other side were consumed, and an `Ack` frame carries it
 * alone when nothing else is going that way. A worker whose process exits is
 * seen within `LIVENESS_INTERVAL_MS` (pid and start time from /proc).
 */
import type { IceoryxSymbols } from "../../../ffi/iceoryx.ts";
import { idString, publisherOptions, subscriberOptions } from "../../../ffi/iceoryx.ts";
import type { Logger } from "../../log/logger.ts";
import type { ManagerReply, ValidWorkerRequest, WorkerControl } from "../../wire/ipc.ts";
import { FrameTooLargeError } from "../framing.ts";
import { admitRequest, answerRequest } from "../request_dispatch.ts";
import type { IpcHandler, IpcPeer, IpcServer } from "../transport.ts";
import {
  checkMessageSize,
  CLIENT_CREDIT,
  CONNECT_TIMEOUT_MS,
  FrameKind,
  instanceFor,
  LIVENESS_INTERVAL_MS,
  publishFrame,
  type ReceivedFrame,
  replyEvent,
  REQUESTS_EVENT,
  SERVER_CREDIT,
  SERVICE,
  takeFrames,
  waitUntil,
} from "./frame.ts";
import { identify, type ProcessIdentity, stillAlive } from "./process_identity.ts";
import { CreditedOutbox } from "./credit.ts";
import { IceoryxReactor } from "./reactor.ts";

/** One message waiting for credit. */
interface Outgoing {
  json: string;
  /** The request it answers (an `Error` replaces it if it cannot be sent), or null for a control message. */
  requestId: number | null;
  /** Already the `Error` that replaced a reply. */
  error?: boolean;
}

/** One connected worker. */
class IceoryxPeer implements IpcPeer {
  readonly id: number;
  readonly closed: Promise<void>;
  readonly connection: bigint;
  readonly identity: ProcessIdentity | null;
  readonly #server: IceoryxServer;
  readonly #lib: IceoryxSymbols;
  readonly #publisher: Deno.PointerObject;
  readonly #storage: Uint8Array;
  readonly #log: Logger;
  #resolveClosed!: () => void;
  /** Message frames to the worker, sent as its credit allows. */
  readonly #outbox: CreditedOutbox<Outgoing>;
  /** Message frames of the worker consumed here, and the count last told to it. */
  consumed = 0;
  #ackSent = 0;
  #welcomed = false;
  #endWhenFlushed = false;
  ended = false;
  closeRequested = false;
  inFlight = 0;

  constructor(
    server: IceoryxServer,
    lib: IceoryxSymbols,
    id: number,
    connection: bigint,
    publisher: Deno.PointerObject,
    storage: Uint8Array,
    identity: ProcessIdentity | null,
    log: Logger,
  ) {
    this.#server = server;
    this.#lib = lib;
    this.id = id;
    this.connection = connection;
    this.#publisher = publisher;
    this.#storage = storage;
    this.identity = identity;
    this.#log = log;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#outbox = new CreditedOutbox<Outgoing>(SERVER_CREDIT, {
      send: (next) => this.#publish(FrameKind.Message, next.json),
      failed: (next, error) => {
        this.#log.error("IPC message could not be sent", { request_id: next.requestId, error });
        if (next.requestId === null || next.error) return null;
        // A reply that cannot go out becomes an Error, so the worker's request does not wait forever.
        const msg = error instanceof Error ? error.message : String(error);
        return {
          json: JSON.stringify({ type: "Error", request_id: next.requestId, msg }),
          requestId: next.requestId,
          error: true,
        };
      },
      drained: () => {
        if (this.#endWhenFlushed) this.end("closed by the manager");
      },
    });
  }

  /** Waits for the worker's subscriber to be matched, then welcomes it. */
  async welcome(): Promise<boolean> {
    try {
      await waitUntil(
        () => this.ended || this.#lib.iox_pub_has_subscribers(this.#publisher),
        CONNECT_TIMEOUT_MS,
        `the worker's reply subscriber was not matched within ${CONNECT_TIMEOUT_MS} ms`,
      );
    } catch (error) {
      this.#log.warn("IPC connection not established", { error });
      this.end("connection not established");
      return false;
    }
    if (this.ended) return false;
    this.#publish(FrameKind.Welcome, "", Deno.pid);
    this.#welcomed = true;
    this.#outbox.open();
    return true;
  }

  /** The worker acknowledged `ack` of our message frames. */
  acknowledged(ack: number): void {
    this.#outbox.acknowledged(ack);
  }

  /** Sends an `Ack` when the worker may be waiting for credit. */
  ackIfDue(): void {
    if (this.ended || !this.#welcomed) return;
    if (((this.consumed - this.#ackSent) | 0) >= CLIENT_CREDIT - 1) this.#publish(FrameKind.Ack, "");
  }

  control(message: WorkerControl): void {
    if (this.ended) {
      this.#log.debug("IPC control message dropped: peer gone", { type: message.type });
      return;
    }
    this.#outbox.push({ json: JSON.stringify(message), requestId: null });
  }

  /** Queues a reply; one too large is replaced by an `Error`. */
  reply(reply: ManagerReply): void {
    if (this.ended) {
      this.#log.debug("IPC reply dropped: peer gone", { type: reply.type, request_id: reply.request_id });
      return;
    }
    let json = JSON.stringify(reply);
    try {
      checkMessageSize(json);
    } catch (error) {
      if (!(error instanceof FrameTooLargeError)) throw error;
      this.#log.error("IPC reply too large", { type: reply.type, request_id: reply.request_id, error });
      const msg = `${reply.type} of ${error.bytes} bytes exceeds the IPC message limit of ${error.limit} bytes`;
      json = JSON.stringify({ type: "Error", request_id: reply.request_id, msg });
    }
    this.#outbox.push({ json, requestId: reply.request_id ?? null });
  }

  close(): void {
    this.closeRequested = true;
  }

  /** Ends the connection once every queued message has gone out. */
  endWhenFlushed(reason: string): void {
    if (this.#outbox.size === 0) this.end(reason);
    else this.#endWhenFlushed = true;
  }

  #publish(kind: FrameKind, json: string, pid?: number): void {
    publishFrame(this.#lib, this.#publisher, { kind, connection: this.connection, ack: this.consumed, pid }, json);
    this.#ackSent = this.consumed;
  }

  /** Ends the connection: tells the worker (best effort), frees the topic, reports the disconnect. */
  end(reason: string): void {
    if (this.ended) return;
    if (this.#welcomed) {
      try {
        this.#publish(FrameKind.Closing, "");
      } catch (error) {
        this.#log.debug("IPC Closing frame not sent", { error });
      }
    }
    this.ended = true;
    this.#outbox.close();
    this.#lib.iox_pub_deinit(this.#publisher);
    this.#storage.fill(0);
    this.#log.debug("IPC connection ended", { reason });
    this.#resolveClosed();
    this.#server.peerEnded(this);
  }
}

/** A listening `iceoryx` transport endpoint. */
export class IceoryxServer implements IpcServer {
  readonly address: string;
  readonly #reactor: IceoryxReactor;
  readonly #lib: IceoryxSymbols;
  readonly #handler: IpcHandler;
  readonly #log: Logger;
  readonly #instance: string;
  readonly #subscriber: Deno.PointerObject;
  readonly #storage: Uint8Array;
  readonly #peers = new Map<bigint, IceoryxPeer>();
  #attachment = -1;
  #nextId = 1;
  #closing: Promise<void> | null = null;
  #liveness: ReturnType<typeof setInterval> | undefined;

  private constructor(
    address: string,
    reactor: IceoryxReactor,
    instance: string,
    subscriber: Deno.PointerObject,
    storage: Uint8Array,
    handler: IpcHandler,
    log: Logger,
  ) {
    this.address = address;
    this.#reactor = reactor;
    this.#lib = reactor.lib;
    this.#instance = instance;
    this.#subscriber = subscriber;
    this.#storage = storage;
    this.#handler = handler;
    this.#log = log;
  }

  /** Starts serving `address` (any string: it names the endpoint's topics). */
  static async listen(address: string, handler: IpcHandler, log: Logger): Promise<IceoryxServer> {
    const reactor = await IceoryxReactor.get(log);
    const lib = reactor.lib;
    const instance = instanceFor(address);
    const storage = new Uint8Array(8);
    const subscriber = lib.iox_sub_init(
      storage,
      idString(SERVICE),
      idString(instance),
      idString(REQUESTS_EVENT),
      subscriberOptions(lib),
    );
    if (subscriber === null) throw new Error(`cannot create the iceoryx subscriber for IPC address ${address}`);
    const server = new IceoryxServer(
      address,
      reactor,
      instance,
      subscriber,
      storage,
      handler,
      log.child({ ipc_address: address, iceoryx_instance: instance }),
    );
    try {
      server.#attachment = await reactor.attach(subscriber, () => server.#drain());
    } catch (error) {
      lib.iox_sub_deinit(subscriber);
      throw error;
    }
    server.#liveness = setInterval(() => server.#checkPeers(), LIVENESS_INTERVAL_MS);
    server.#log.debug("IPC server listening");
    return server;
  }

  /** Takes every queued frame, then acknowledges where a worker may wait for credit. */
  #drain(): void {
    const taken = takeFrames(this.#lib, this.#subscriber, (frame) => this.#onFrame(frame));
    if (!taken.ok) this.#log.error("iceoryx refused to hand out a received chunk", { code: taken.code });
    for (const peer of this.#peers.values()) peer.ackIfDue();
  }

  #onFrame(frame: ReceivedFrame): void {
    const { header, body } = frame;
    if (header.kind === FrameKind.Connect && !("error" in body)) return this.#connect(header.connection, header.pid);
    const peer = this.#peers.get(header.connection);
    if (peer === undefined || peer.ended) {
      this.#log.debug("IPC frame for no open connection dropped", { kind: header.kind });
      return;
    }
    if ("error" in body) {
      this.#log.warn("unusable IPC frame from worker; closing its connection", { peer: peer.id, error: body.error });
      peer.end(`protocol violation: ${body.error}`);
      return;
    }
    peer.acknowledged(header.ack);
    switch (header.kind) {
      case FrameKind.Ack:
        return;
      case FrameKind.Disconnect:
        peer.end("the worker disconnected");
        return;
      case FrameKind.Message:
        peer.consumed++;
        return this.#onMessage(peer, body);
      default:
        this.#log.warn("IPC frame of unknown kind from worker ignored", { peer: peer.id, kind: header.kind });
    }
  }

  /** Decodes one request in place (the body is shared memory) and answers it. */
  #onMessage(peer: IceoryxPeer, body: Uint8Array): void {
    const log = this.#log.child({ peer: peer.id });
    const admitted = admitRequest(body, peer.inFlight, log);
    if (!admitted.ok) return peer.reply(admitted.reply);
    const { request } = admitted;
    peer.inFlight++;
    void this.#answer(peer, request, log).finally(() => peer.inFlight--);
  }

  /** Runs the handler for one request and queues its reply (or an `Error`). */
  async #answer(peer: IceoryxPeer, request: ValidWorkerRequest, log: Logger): Promise<void> {
    const reply = await answerRequest(this.#handler, peer, request, log);
    peer.reply(reply);
    if (peer.closeRequested) peer.endWhenFlushed("closed by the manager");
  }

  #connect(connection: bigint, pid: number): void {
    if (this.#closing !== null) return;
    if (this.#peers.has(connection)) {
      this.#log.warn("duplicate IPC Connect ignored");
      return;
    }
    const identity = identify(pid);
    if (identity === null) {
      this.#log.warn(
        "IPC client's process cannot be watched (not visible here); its exit is seen only by its goodbye",
        {
          pid,
        },
      );
    }
    const storage = new Uint8Array(8);
    const publisher = this.#lib.iox_pub_init(
      storage,
      idString(SERVICE),
      idString(this.#instance),
      idString(replyEvent(connection)),
      publisherOptions(this.#lib),
    );
    if (publisher === null) {
      this.#log.error("cannot create the iceoryx publisher for a new IPC connection", { pid });
      return;
    }
    const id = this.#nextId++;
    const peer = new IceoryxPeer(
      this,
      this.#lib,
      id,
      connection,
      publisher,
      storage,
      identity,
      this.#log.child({ peer: id, pid }),
    );
    this.#peers.set(connection, peer);
    void peer.welcome().then((welcomed) => {
      if (welcomed) this.#callback("onConnect", peer);
    });
  }

  /** Called by a peer when its connection ended. */
  peerEnded(peer: IceoryxPeer): void {
    if (this.#peers.get(peer.connection) !== peer) return;
    this.#peers.delete(peer.connection);
    this.#callback("onDisconnect", peer);
  }

  #checkPeers(): void {
    for (const peer of this.#peers.values()) {
      if (peer.identity !== null && !stillAlive(peer.identity)) peer.end("the worker's process exited");
    }
  }

  /** Calls an optional handler callback; a throwing callback is logged, never fatal. */
  #callback(name: "onConnect" | "onDisconnect", peer: IpcPeer): void {
    try {
      this.#handler[name]?.(peer);
    } catch (error) {
      this.#log.error(`IPC ${name} callback failed`, { peer: peer.id, error });
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#liveness);
      for (const peer of [...this.#peers.values()]) peer.end("the manager closed the IPC endpoint");
      await this.#reactor.detach(this.#attachment);
      this.#lib.iox_sub_deinit(this.#subscriber);
      this.#storage.fill(0);
      this.#log.debug("IPC server closed");
    })();
    return this.#closing;
  }
}
