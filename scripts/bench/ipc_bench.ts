/**
 * IPC fetch round trip (SPEC §9): a manager-side server in this process
 * answering `FetchTask` with a small task (~330 bytes of JSON), a worker in a
 * separate process (`ipc_bench_client.ts`) sending `--count` sequential
 * requests (default 10,000, after `--warmup` 500). Reports p50/p99/mean
 * latency and round trips per second, per run and as the median over
 * `--runs` runs (default 3).
 *
 * Unless `--no-floor` is given, each run also measures the bare floor under
 * the `unix` backend: the same frames echoed over a Unix socket without any
 * JSON parsing or validation on either side.
 *
 * Run: deno run --allow-all scripts/bench/ipc_bench.ts [--transport unix] [--runs 3] [--count 10000] [--no-floor]
 */
import { parseArgs } from "node:util";
import { createLogger } from "../../shared/log/logger.ts";
import { encodeFrame } from "../../shared/ipc/framing.ts";
import { type IpcBackendName, parseIpcBackendName, selectTransport } from "../../shared/ipc/select.ts";
import type { IpcHandler } from "../../shared/ipc/transport.ts";
import type { ManagerReply } from "../../shared/wire/ipc.ts";
import type { ManagedTask } from "../../shared/wire/manager_ws.ts";
import { serveRawEcho } from "./ipc_raw_echo.ts";
import { median, printTable, quantile } from "./stats.ts";

const { values } = parseArgs({
  options: {
    transport: { type: "string", default: "unix" },
    runs: { type: "string", default: "3" },
    count: { type: "string", default: "10000" },
    warmup: { type: "string", default: "500" },
    "no-floor": { type: "boolean", default: false },
  },
});
const backend: IpcBackendName = parseIpcBackendName(values.transport);
const runs = Number(values.runs);
const count = Number(values.count);
const warmup = Number(values.warmup);
const withFloor = !values["no-floor"];
const CLIENT = new URL("./ipc_bench_client.ts", import.meta.url).pathname;
const transport = selectTransport(backend, Deno.env.toObject(), { log: createLogger("ipc-bench", "warn") });

/** A small task, like one a manager hands to a worker. */
const task: ManagedTask = {
  id: 1,
  uuid: crypto.randomUUID(),
  timeout: "10m",
  spec: {
    args: ["python", "train.py", "--epochs", "3"],
    envs: { SEED: "1" },
    resources: [],
    terminal_output: false,
    watch: null,
  },
  upstream_task_uuid: null,
  attempt: 1,
  suite_uuid: crypto.randomUUID(),
};

const handler: IpcHandler = {
  onRequest: (_peer, request): Promise<ManagerReply> =>
    Promise.resolve(
      request.type === "FetchTask"
        ? { type: "FetchTaskReply", request_id: request.request_id, task: { ...task, id: request.request_id } }
        : { type: "Error", request_id: request.request_id, msg: `${request.type} is not benchmarked` },
    ),
};

/** Runs the client process in `mode` against `address`; returns its latencies (µs). */
async function measure(mode: string, address: string): Promise<number[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CLIENT, mode, address, String(count), String(warmup)],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`bench client (${mode}) failed with exit code ${output.code}`);
  const { latencies_us } = JSON.parse(new TextDecoder().decode(output.stdout)) as { latencies_us: number[] };
  if (latencies_us.length !== count) throw new Error(`expected ${count} samples, got ${latencies_us.length}`);
  return latencies_us;
}

/** Summary of one run. */
interface RunStats {
  p50: number;
  p99: number;
  mean: number;
  rate: number;
}

function summarise(latencies: number[]): RunStats {
  const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
  return { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), mean, rate: 1e6 / mean };
}

function row(label: string, s: RunStats): (string | number)[] {
  return [label, count, s.p50.toFixed(1), s.p99.toFixed(1), s.mean.toFixed(1), Math.round(s.rate)];
}

function medianStats(all: RunStats[]): RunStats {
  return {
    p50: median(all.map((s) => s.p50)),
    p99: median(all.map((s) => s.p99)),
    mean: median(all.map((s) => s.mean)),
    rate: median(all.map((s) => s.rate)),
  };
}

const dir = await Deno.makeTempDir({ prefix: "mitosis-ipc-bench-" });
try {
  const rows: (string | number)[][] = [];
  const backendRuns: RunStats[] = [];
  const floorRuns: RunStats[] = [];
  for (let run = 1; run <= runs; run++) {
    const server = await transport.serve(`${dir}/bench-${run}.sock`, handler);
    try {
      backendRuns.push(summarise(await measure(backend, server.address)));
    } finally {
      await server.close();
    }
    rows.push(row(`${backend} run ${run}`, backendRuns.at(-1)!));
    if (withFloor) {
      const path = `${dir}/floor-${run}.sock`;
      const raw = serveRawEcho(path, encodeFrame({ type: "FetchTaskReply", request_id: 0, task }));
      try {
        floorRuns.push(summarise(await measure("raw", path)));
      } finally {
        await raw.close();
      }
      rows.push(row(`floor run ${run}`, floorRuns.at(-1)!));
    }
  }
  rows.push(row(`${backend} median`, medianStats(backendRuns)));
  if (withFloor) rows.push(row("floor median", medianStats(floorRuns)));
  console.log(
    `IPC FetchTask round trip: 1 client process, sequential, ${count} requests per run after ${warmup} warm-up`,
  );
  if (withFloor) console.log("(floor: the same frames echoed over a bare Unix socket, no JSON parsing or validation)");
  printTable(["transport", "requests", "p50 µs", "p99 µs", "mean µs", "round trips/s"], rows);
} finally {
  await Deno.remove(dir, { recursive: true });
}
