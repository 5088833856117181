/**
 * The worker side of the `iceoryx` IPC transport: requests and replies over
 * an `IceoryxChannel`, matched by `request_id` (`ReplyRouter`, as on the
 * `unix` transport). Replies are decoded in place from shared memory.
 */
import type { Logger } from "../../log/logger.ts";
import type { ManagerReply, WorkerControl, WorkerRequest } from "../../wire/ipc.ts";
import { ReplyRouter } from "../reply_router.ts";
import type { IpcClient } from "../transport.ts";
import { IceoryxChannel } from "./channel.ts";
import { checkMessageSize } from "./frame.ts";

/** A worker's connection to its manager over iceoryx shared memory. */
export class IceoryxClient implements IpcClient {
  readonly closed: Promise<void>;
  readonly #address: string;
  readonly #channel: IceoryxChannel;
  readonly #router: ReplyRouter;

  private constructor(address: string, channel: IceoryxChannel, router: ReplyRouter) {
    this.#address = address;
    this.#channel = channel;
    this.#router = router;
    this.closed = channel.ended.then(() => router.end(() => this.#closedError()));
  }

  /** Connects to the manager's endpoint `address`. */
  static async connect(
    address: string,
    onControl: (message: WorkerControl) => void,
    log: Logger,
  ): Promise<IceoryxClient> {
    const clientLog = log.child({ ipc_address: address });
    const router = new ReplyRouter(onControl, clientLog);
    const channel = await IceoryxChannel.open(address, {
      onMessage: (body) => router.dispatch(body),
      onUnusable: (error) => clientLog.warn("dropping unusable IPC frame from the manager", { error }),
    }, clientLog);
    return new IceoryxClient(address, channel, router);
  }

  request(request: WorkerRequest): Promise<ManagerReply> {
    if (this.#channel.isEnded) return Promise.reject(this.#closedError());
    const json = JSON.stringify(request);
    try {
      checkMessageSize(json);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#router.register(request.request_id, () => this.#channel.sendJson(json));
  }

  close(): void {
    void this.#channel.close();
  }

  #closedError(): Error {
    return new Error(`IPC connection to ${this.#address} closed before the reply arrived`);
  }
}
