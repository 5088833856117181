/**
 * The worker side of `ipc_bench.ts`, run as its own process: connects to the
 * manager's address, sends `warmup` then `count` sequential `FetchTask`
 * requests and prints one JSON line `{"latencies_us": [...]}` with the round
 * trip of each measured request.
 *
 * - `<backend>` (e.g. `unix`): through that transport's `IpcClient`, every
 *   reply decoded and validated;
 * - `raw`: pre-encoded request frames written to the Unix socket and reply
 *   frames read back without parsing (the floor under the `unix` backend).
 *
 * Run by ipc_bench.ts: deno run --allow-all scripts/bench/ipc_bench_client.ts <backend|raw> <address> <count> <warmup>
 */
import { createLogger } from "../../shared/log/logger.ts";
import { encodeFrame, FrameDecoder } from "../../shared/ipc/framing.ts";
import { parseIpcBackendName, selectTransport } from "../../shared/ipc/select.ts";

const [mode, address, countArg, warmupArg] = Deno.args;
const count = Number(countArg);
const warmup = Number(warmupArg);

/** Sends one request and waits for its reply. */
type RoundTrip = (requestId: number) => Promise<void>;

/** A round trip through the backend's client, checking each reply. */
async function transportRoundTrip(): Promise<{ roundTrip: RoundTrip; close: () => Promise<void> }> {
  const transport = selectTransport(parseIpcBackendName(mode), Deno.env.toObject(), {
    log: createLogger("ipc-bench-client", "warn"),
  });
  const client = await transport.connect(address, () => {});
  return {
    roundTrip: async (id) => {
      const reply = await client.request({ type: "FetchTask", request_id: id, worker_local_id: 0 });
      if (reply.type !== "FetchTaskReply" || reply.request_id !== id || reply.task === null) {
        throw new Error(`unexpected reply to request ${id}: ${JSON.stringify(reply)}`);
      }
    },
    close: async () => {
      client.close();
      await client.closed;
    },
  };
}

/** A round trip of pre-encoded frames on the bare socket. */
async function rawRoundTrip(): Promise<{ roundTrip: RoundTrip; close: () => Promise<void> }> {
  const conn = await Deno.connect({ transport: "unix", path: address });
  const request = encodeFrame({ type: "FetchTask", request_id: 0, worker_local_id: 0 });
  const buffer = new Uint8Array(64 * 1024);
  const decoder = new FrameDecoder();
  return {
    roundTrip: async () => {
      let written = 0;
      while (written < request.length) written += await conn.write(request.subarray(written));
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) throw new Error("server closed the connection");
        if (!decoder.push(buffer.subarray(0, n)).next().done) return;
      }
    },
    close: () => Promise.resolve(conn.close()),
  };
}

const { roundTrip, close } = mode === "raw" ? await rawRoundTrip() : await transportRoundTrip();
const latencies: number[] = [];
for (let i = 0; i < warmup + count; i++) {
  const t0 = performance.now();
  await roundTrip(i);
  const elapsed = performance.now() - t0;
  if (i >= warmup) latencies.push(Math.round(elapsed * 10_000) / 10);
}
await close();
console.log(JSON.stringify({ latencies_us: latencies }));
