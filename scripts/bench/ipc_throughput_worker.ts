/**
 * One worker of the throughput part of `ipc_transports.ts`, run as its own
 * process: connects to the manager's address through `<backend>`, prints
 * `ready`, then waits for one JSON line on stdin
 * `{"start_at_ms", "warmup_ms", "window_ms"}` (wall-clock times shared by
 * every worker), sends sequential `FetchTask` requests from `start_at_ms`
 * until the window ends and prints one JSON line
 * `{"requests", "p50_us", "p99_us"}` for the requests sent inside the window.
 *
 * Run by ipc_transports.ts: deno run --allow-all scripts/bench/ipc_throughput_worker.ts <backend> <address>
 */
import { createLogger } from "../../shared/log/logger.ts";
import { parseIpcBackendName, selectTransport } from "../../shared/ipc/select.ts";
import { quantile } from "./stats.ts";

/** The start signal the bench writes on stdin. */
interface StartSignal {
  start_at_ms: number;
  warmup_ms: number;
  window_ms: number;
}

const [backend, address] = Deno.args;
const transport = selectTransport(parseIpcBackendName(backend), Deno.env.toObject(), {
  log: createLogger("ipc-throughput-worker", "warn"),
});
const client = await transport.connect(address, () => {});
console.log("ready");

/** Reads stdin up to its first newline. */
async function readFirstLine(): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of Deno.stdin.readable) {
    text += decoder.decode(chunk, { stream: true });
    const newline = text.indexOf("\n");
    if (newline >= 0) return text.slice(0, newline);
  }
  throw new Error("stdin closed before the start signal");
}

const signal = JSON.parse(await readFirstLine()) as StartSignal;

const measureFrom = signal.start_at_ms + signal.warmup_ms;
const end = measureFrom + signal.window_ms;
await new Promise((resolve) => setTimeout(resolve, Math.max(0, signal.start_at_ms - Date.now())));

const latencies: number[] = [];
for (let id = 0;; id++) {
  const startedAt = Date.now();
  if (startedAt >= end) break;
  const t0 = performance.now();
  const reply = await client.request({ type: "FetchTask", request_id: id, worker_local_id: 0 });
  const elapsed = performance.now() - t0;
  if (reply.type !== "FetchTaskReply" || reply.request_id !== id || reply.task === null) {
    throw new Error(`unexpected reply to request ${id}: ${JSON.stringify(reply).slice(0, 200)}`);
  }
  if (startedAt >= measureFrom) latencies.push(elapsed * 1000);
}
client.close();
await client.closed;
console.log(JSON.stringify({
  requests: latencies.length,
  p50_us: Math.round(quantile(latencies, 0.5) * 10) / 10,
  p99_us: Math.round(quantile(latencies, 0.99) * 10) / 10,
}));
