/**
 * A worker's connection on the `iceoryx` transport, below the request/reply
 * layer: it subscribes to its own reply topic, publishes on the endpoint's
 * `requests` topic once RouDi has matched it with the manager, says
 * `Connect` and waits for `Welcome`. Message bodies go out written into
 * loaned chunks (at most `CLIENT_CREDIT` unacknowledged, the rest waits
 * here) and come in as views into shared memory, valid during `onMessage`.
 * The connection ends on the manager's `Closing`, when the manager's process
 * exits (pid and start time from its `Welcome`), or on `close()`.
 */
import type { IceoryxSymbols } from "../../../ffi/iceoryx.ts";
import { idString, publisherOptions, subscriberOptions } from "../../../ffi/iceoryx.ts";
import type { Logger } from "../../log/logger.ts";
import {
  CLIENT_CREDIT,
  CONNECT_TIMEOUT_MS,
  FrameKind,
  instanceFor,
  LIVENESS_INTERVAL_MS,
  newConnectionId,
  publishFrame,
  publishRawFrame,
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

/** What the channel delivers. */
export interface ChannelEvents {
  /** A message body (shared memory: read it before returning). */
  onMessage(body: Uint8Array): void;
  /** A frame the channel could not use (logged by the owner). */
  onUnusable?(error: string): void;
}

/** One outgoing message and how to settle its sending. */
interface Outgoing {
  send: () => void;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A worker-side `iceoryx` connection. */
export class IceoryxChannel {
  /** Resolves once the connection has ended and its ports are freed. */
  readonly ended: Promise<void>;
  readonly #reactor: IceoryxReactor;
  readonly #lib: IceoryxSymbols;
  readonly #address: string;
  readonly #connection = newConnectionId();
  readonly #events: ChannelEvents;
  readonly #log: Logger;
  readonly #storages = [new Uint8Array(8), new Uint8Array(8)];
  readonly #subscriber: Deno.PointerObject;
  readonly #publisher: Deno.PointerObject;
  #attachment = -1;
  /** Message frames to the manager, sent as its credit allows. */
  readonly #outbox = new CreditedOutbox<Outgoing>(CLIENT_CREDIT, {
    send: (next) => next.send(),
    sent: (next) => next.resolve(),
    failed: (next, error) => {
      next.reject(error instanceof Error ? error : new Error(String(error)));
      return null;
    },
  });
  #liveness: ReturnType<typeof setInterval> | undefined;
  #server: ProcessIdentity | null = null;
  #welcomed = Promise.withResolvers<void>();
  #isWelcomed = false;
  #consumed = 0;
  #ackSent = 0;
  #ending = false;
  #resolveEnded!: () => void;

  private constructor(reactor: IceoryxReactor, address: string, events: ChannelEvents, log: Logger) {
    this.#reactor = reactor;
    this.#lib = reactor.lib;
    this.#address = address;
    this.#events = events;
    this.#log = log;
    this.ended = new Promise((resolve) => this.#resolveEnded = resolve);
    const instance = idString(instanceFor(address));
    const service = idString(SERVICE);
    const subscriber = this.#lib.iox_sub_init(
      this.#storages[0],
      service,
      instance,
      idString(replyEvent(this.#connection)),
      subscriberOptions(this.#lib),
    );
    if (subscriber === null) throw new Error(`cannot create the iceoryx subscriber for IPC address ${address}`);
    const publisher = this.#lib.iox_pub_init(
      this.#storages[1],
      service,
      instance,
      idString(REQUESTS_EVENT),
      publisherOptions(this.#lib),
    );
    if (publisher === null) {
      this.#lib.iox_sub_deinit(subscriber);
      throw new Error(`cannot create the iceoryx publisher for IPC address ${address}`);
    }
    this.#subscriber = subscriber;
    this.#publisher = publisher;
  }

  /** Connects to the endpoint `address`; throws when no manager welcomes it within the connect timeout. */
  static async open(address: string, events: ChannelEvents, log: Logger): Promise<IceoryxChannel> {
    const reactor = await IceoryxReactor.get(log);
    const channel = new IceoryxChannel(reactor, address, events, log);
    try {
      channel.#attachment = await reactor.attach(channel.#subscriber, () => channel.#drain());
      await waitUntil(
        () => channel.#ending || channel.#lib.iox_pub_has_subscribers(channel.#publisher),
        CONNECT_TIMEOUT_MS,
        `no manager serves the iceoryx IPC address ${address} (waited ${CONNECT_TIMEOUT_MS} ms)`,
      );
      channel.#publish(FrameKind.Connect, "", Deno.pid);
      const timeout = new Promise<never>((_, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the manager at iceoryx IPC address ${address} did not answer Connect`)),
          CONNECT_TIMEOUT_MS,
        );
        void channel.#welcomed.promise.finally(() => clearTimeout(timer)).catch(() => {});
      });
      await Promise.race([channel.#welcomed.promise, timeout]);
    } catch (error) {
      await channel.#end();
      throw error;
    }
    channel.#liveness = setInterval(() => {
      if (channel.#server !== null && !stillAlive(channel.#server)) {
        channel.#log.warn("the manager's process exited; IPC connection ended", { pid: channel.#server.pid });
        void channel.#end();
      }
    }, LIVENESS_INTERVAL_MS);
    return channel;
  }

  /** Whether the connection has ended (or is ending). */
  get isEnded(): boolean {
    return this.#ending;
  }

  /** Sends one JSON message (already serialised and size-checked); resolves once written to shared memory. */
  sendJson(json: string): Promise<void> {
    return this.#enqueue(() => this.#publish(FrameKind.Message, json));
  }

  /** Sends a message whose body is `body` verbatim, announcing `declaredLength` bytes (tests of bad input). */
  sendRaw(body: Uint8Array, declaredLength = body.length): Promise<void> {
    return this.#enqueue(() => {
      publishRawFrame(
        this.#lib,
        this.#publisher,
        { kind: FrameKind.Message, connection: this.#connection, ack: this.#consumed },
        body,
        declaredLength,
      );
      this.#ackSent = this.#consumed;
    });
  }

  /** Says goodbye to the manager and ends the connection. */
  async close(): Promise<void> {
    if (this.#ending) return await this.ended;
    try {
      this.#publish(FrameKind.Disconnect, "");
    } catch (error) {
      this.#log.debug("IPC Disconnect frame not sent", { error });
    }
    await this.#end();
  }

  #enqueue(send: () => void): Promise<void> {
    if (this.#ending) return Promise.reject(this.#endedError());
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#outbox.push({ send, resolve, reject });
    return promise;
  }

  #endedError(): Error {
    return new Error(`IPC connection to ${this.#address} closed`);
  }

  #publish(kind: FrameKind, json: string, pid?: number): void {
    publishFrame(this.#lib, this.#publisher, { kind, connection: this.#connection, ack: this.#consumed, pid }, json);
    this.#ackSent = this.#consumed;
  }

  #drain(): void {
    const taken = takeFrames(this.#lib, this.#subscriber, (frame) => this.#onFrame(frame));
    if (!taken.ok) this.#log.error("iceoryx refused to hand out a received chunk", { code: taken.code });
    if (!this.#ending && this.#isWelcomed && ((this.#consumed - this.#ackSent) | 0) >= SERVER_CREDIT / 2) {
      this.#publish(FrameKind.Ack, "");
    }
  }

  #onFrame(frame: ReceivedFrame): void {
    if (this.#ending) return;
    const { header, body } = frame;
    if ("error" in body || header.connection !== this.#connection) {
      this.#events.onUnusable?.("error" in body ? body.error : "frame for another connection");
      return;
    }
    this.#outbox.acknowledged(header.ack);
    switch (header.kind) {
      case FrameKind.Welcome:
        this.#server = identify(header.pid);
        this.#isWelcomed = true;
        this.#welcomed.resolve();
        this.#outbox.open();
        break;
      case FrameKind.Message:
        this.#consumed++;
        this.#events.onMessage(body);
        break;
      case FrameKind.Ack:
        break;
      case FrameKind.Closing:
        void this.#end();
        return;
      default:
        this.#events.onUnusable?.(`frame of unknown kind ${header.kind}`);
    }
  }

  /** Frees the ports; pending sends reject. */
  async #end(): Promise<void> {
    if (this.#ending) return await this.ended;
    this.#ending = true;
    clearInterval(this.#liveness);
    this.#welcomed.reject(this.#endedError());
    this.#welcomed.promise.catch(() => {});
    for (const pending of this.#outbox.close()) pending.reject(this.#endedError());
    if (this.#attachment >= 0) await this.#reactor.detach(this.#attachment);
    this.#lib.iox_pub_deinit(this.#publisher);
    this.#lib.iox_sub_deinit(this.#subscriber);
    this.#resolveEnded();
  }
}
