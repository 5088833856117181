/**
 * The floor under the `unix` IPC backend for the IPC benchmarks: a Unix
 * socket server that answers every frame it receives with one pre-encoded
 * reply frame, without parsing or validating anything.
 */
import { FrameDecoder } from "../../shared/ipc/framing.ts";

/** A running raw echo server. */
export interface RawEchoServer {
  /** Stops listening and ends the connections. */
  close(): Promise<void>;
}

/**
 * Listens on the Unix socket `path` and writes `reply` (a whole frame, from
 * `encodeFrame`) once for every frame a client sends.
 *
 * @example
 * const server = serveRawEcho("/tmp/floor.sock", encodeFrame({ type: "FetchTaskReply", request_id: 0, task }));
 * await server.close();
 */
export function serveRawEcho(path: string, reply: Uint8Array): RawEchoServer {
  const listener = Deno.listen({ transport: "unix", path });
  const serving = (async () => {
    for await (const conn of listener) {
      const buffer = new Uint8Array(64 * 1024);
      const decoder = new FrameDecoder();
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        for (const _ of decoder.push(buffer.subarray(0, n))) {
          let written = 0;
          while (written < reply.length) written += await conn.write(reply.subarray(written));
        }
      }
      conn.close();
    }
  })();
  return {
    close: async () => {
      listener.close();
      await serving.catch((error) => {
        if (!(error instanceof Deno.errors.BadResource)) throw error;
      });
    },
  };
}
