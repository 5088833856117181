/**
 * Raw access to the `iceoryx` transport's wire for the conformance suite's
 * malformed-frame and oversize-frame cases: a real connection (Connect,
 * Welcome) whose messages carry arbitrary bodies or headers announcing more
 * than the limit, and whose received messages are read back as JSON.
 */
import { createLogger } from "../../shared/log/logger.ts";
import { IceoryxChannel } from "../../shared/ipc/iceoryx/channel.ts";
import type { RawIpcConnection, RawIpcConnector } from "./ipc_conformance.ts";

const decoder = new TextDecoder();

/** A raw connection to an `iceoryx` transport server. */
class IceoryxRawConnection implements RawIpcConnection {
  readonly #received: unknown[] = [];
  #channel!: IceoryxChannel;
  #wake: (() => void) | null = null;

  static async open(address: string): Promise<IceoryxRawConnection> {
    const connection = new IceoryxRawConnection();
    connection.#channel = await IceoryxChannel.open(address, {
      onMessage: (body) => {
        connection.#received.push(JSON.parse(decoder.decode(body)));
        connection.#wake?.();
      },
    }, createLogger("ipc-iceoryx-raw", "off"));
    void connection.#channel.ended.then(() => connection.#wake?.());
    return connection;
  }

  sendBody(body: Uint8Array): Promise<void> {
    return this.#channel.sendRaw(body);
  }

  sendJson(message: unknown): Promise<void> {
    return this.#channel.sendJson(JSON.stringify(message));
  }

  sendOversize(bytes: number): Promise<void> {
    return this.#channel.sendRaw(new TextEncoder().encode('{"type":"FetchTask","request_id":1,'), bytes);
  }

  async receive(): Promise<unknown | null> {
    while (this.#received.length === 0) {
      if (this.#channel.isEnded) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = null;
    }
    return this.#received.shift();
  }

  close(): Promise<void> {
    return this.#channel.close();
  }
}

/** Opens raw connections to an `iceoryx` transport server. */
export const iceoryxRawConnector: RawIpcConnector = {
  connect: (address) => IceoryxRawConnection.open(address),
};
