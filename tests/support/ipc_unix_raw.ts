/**
 * Raw access to the `unix` transport's wire for the conformance suite's
 * malformed-frame and oversize-frame cases: frames with arbitrary bodies,
 * headers announcing more than the limit, and reading replies back.
 */
import { encodeFrame, FRAME_HEADER_BYTES, FrameDecoder } from "../../shared/ipc/framing.ts";
import type { RawIpcConnection, RawIpcConnector } from "./ipc_conformance.ts";

const decoder = new TextDecoder();

/** A raw connection to a `unix` transport server. */
class UnixRawConnection implements RawIpcConnection {
  readonly #conn: Deno.Conn;
  readonly #frames: Uint8Array[] = [];
  readonly #ended: Promise<void>;
  #eof = false;
  #wake: (() => void) | null = null;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#ended = this.#read();
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    const frameDecoder = new FrameDecoder(Number.MAX_SAFE_INTEGER);
    try {
      for (;;) {
        const n = await this.#conn.read(buffer);
        if (n === null) return;
        for (const frame of frameDecoder.push(buffer.subarray(0, n))) this.#frames.push(frame);
        this.#wake?.();
      }
    } catch (error) {
      // The server reset the connection, or close() interrupted the read: both end it.
      if (
        !(error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BadResource ||
          error instanceof Deno.errors.Interrupted)
      ) throw error;
    } finally {
      this.#eof = true;
      this.#wake?.();
    }
  }

  async #write(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
  }

  sendBody(body: Uint8Array): Promise<void> {
    const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
    new DataView(frame.buffer).setUint32(0, body.length, false);
    frame.set(body, FRAME_HEADER_BYTES);
    return this.#write(frame);
  }

  sendJson(message: unknown): Promise<void> {
    return this.#write(encodeFrame(message, Number.MAX_SAFE_INTEGER));
  }

  async sendOversize(bytes: number): Promise<void> {
    const header = new Uint8Array(FRAME_HEADER_BYTES + 1024);
    new DataView(header.buffer).setUint32(0, bytes, false);
    header.fill(0x20, FRAME_HEADER_BYTES);
    await this.#write(header);
  }

  async receive(): Promise<unknown | null> {
    while (this.#frames.length === 0 && !this.#eof) {
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = null;
    }
    const frame = this.#frames.shift();
    return frame === undefined ? null : JSON.parse(decoder.decode(frame));
  }

  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    await this.#ended;
  }
}

/** Raw connections to a `unix` transport server at a socket path. */
export const unixRawConnector: RawIpcConnector = {
  async connect(address: string): Promise<RawIpcConnection> {
    return new UnixRawConnection(await Deno.connect({ transport: "unix", path: address }));
  },
};
