/**
 * The IPC transports side by side in one run (`deno task bench:ipc`):
 *
 * 1. Round-trip latency: one worker process (`ipc_bench_client.ts`) sends
 *    `--count` sequential `FetchTask` requests (after `--warmup`) to a
 *    manager-side server in this process; replies of about 256 bytes and of
 *    about 64 KiB (task args carrying padding). Measured for `unix`,
 *    `iceoryx` and the bare Unix socket echo (pre-encoded frames, no JSON:
 *    the floor under `unix`, `ipc_raw_echo.ts`).
 * 2. Throughput: 16 and 64 worker processes (`ipc_throughput_worker.ts`),
 *    each sending sequential `FetchTask` requests with 256-byte replies, for
 *    `unix` and `iceoryx`. The workers are spawned and connected first, then
 *    started together at one wall-clock instant; after `--tp-warmup-ms` the
 *    manager counts the replies it answers during `--window-ms`.
 *
 * Every round measures each transport once, in an order that rotates from
 * round to round, so drift of the machine's load hits all of them alike;
 * figures are medians over the rounds. When iceoryx cannot be used (library
 * missing, RouDi cannot be started) its rows say why and unix is still
 * measured. The last line printed is one JSON object with every figure.
 *
 * Run: deno task bench:ipc [--quick] [--runs 3] [--count 5000] [--warmup 500]
 *      [--tp-runs 3] [--workers 16,64] [--window-ms 3000] [--tp-warmup-ms 1000]
 */
import { parseArgs } from "node:util";
import { createLogger } from "../../shared/log/logger.ts";
import { encodeFrame } from "../../shared/ipc/framing.ts";
import { selectTransport } from "../../shared/ipc/select.ts";
import { acquireRoudi, type RoudiDaemon } from "../../shared/ipc/iceoryx/roudi.ts";
import type { IpcHandler, IpcTransport } from "../../shared/ipc/transport.ts";
import type { ManagerReply } from "../../shared/wire/ipc.ts";
import type { ManagedTask } from "../../shared/wire/manager_ws.ts";
import { serveRawEcho } from "./ipc_raw_echo.ts";
import { median, printTable, quantile } from "./stats.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    runs: { type: "string" },
    count: { type: "string" },
    warmup: { type: "string" },
    "tp-runs": { type: "string" },
    workers: { type: "string" },
    "window-ms": { type: "string" },
    "tp-warmup-ms": { type: "string" },
  },
});

/** Settings of one bench run; `--quick` changes the defaults. */
const config = (() => {
  const quick = values.quick;
  const int = (value: string | undefined, fallback: number, name: string): number => {
    const n = value === undefined ? fallback : Number(value);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive integer, got ${value}`);
    return n;
  };
  const workers = (values.workers ?? "16,64").split(",").map((w) => int(w, 0, "workers"));
  return {
    quick,
    runs: int(values.runs, quick ? 1 : 3, "runs"),
    count: int(values.count, quick ? 1000 : 5000, "count"),
    warmup: int(values.warmup, quick ? 200 : 500, "warmup"),
    tpRuns: int(values["tp-runs"], quick ? 1 : 3, "tp-runs"),
    workers,
    windowMs: int(values["window-ms"], quick ? 1000 : 3000, "window-ms"),
    tpWarmupMs: int(values["tp-warmup-ms"], quick ? 500 : 1000, "tp-warmup-ms"),
  };
})();

const LATENCY_CLIENT = new URL("./ipc_bench_client.ts", import.meta.url).pathname;
const THROUGHPUT_WORKER = new URL("./ipc_throughput_worker.ts", import.meta.url).pathname;
/** How long spawned workers may take to connect. */
const READY_TIMEOUT_MS = 240_000;
/** Delay between the start signal being written and the workers starting. */
const START_DELAY_MS = 300;

const log = createLogger("ipc-bench", "warn");
const encoder = new TextEncoder();

// ---------------------------------------------------------------- replies

/** A task padded (through one extra argument) so its `FetchTaskReply` encodes to about `bytes` of JSON. */
function paddedTask(bytes: number): ManagedTask {
  const task: ManagedTask = {
    id: 1,
    uuid: crypto.randomUUID(),
    timeout: "10m",
    spec: { args: ["python", "train.py"], envs: {}, resources: [], terminal_output: false, watch: null },
    upstream_task_uuid: null,
    attempt: 1,
    suite_uuid: crypto.randomUUID(),
  };
  const size = replyBytes(task);
  if (size < bytes) task.spec.args.push("x".repeat(Math.max(0, bytes - size - 3)));
  return task;
}

/** Bytes of JSON of the reply carrying `task`, with a 5-digit request id. */
function replyBytes(task: ManagedTask): number {
  return encoder.encode(JSON.stringify({ type: "FetchTaskReply", request_id: 10_000, task })).length;
}

/** The reply sizes measured: label, target JSON size. 64,000 B keeps an iceoryx chunk in the 64 KiB mempool. */
const SIZES = [{ label: "256B", bytes: 256 }, { label: "64KiB", bytes: 64_000 }] as const;
type SizeLabel = typeof SIZES[number]["label"];
const TASKS = new Map<SizeLabel, ManagedTask>(SIZES.map((s) => [s.label, paddedTask(s.bytes)]));

/** A handler answering every `FetchTask` with `task`; `onFetch` sees each one. */
function fetchHandler(task: ManagedTask, onFetch: () => void = () => {}): IpcHandler {
  return {
    onRequest: (_peer, request): Promise<ManagerReply> => {
      onFetch();
      return Promise.resolve(
        request.type === "FetchTask"
          ? { type: "FetchTaskReply", request_id: request.request_id, task }
          : { type: "Error", request_id: request.request_id, msg: `${request.type} is not benchmarked` },
      );
    },
  };
}

// ---------------------------------------------------------------- child processes

/** Every child process still running, killed on the way out. */
const children = new Set<Deno.ChildProcess>();

function spawn(args: string[], stdin: "piped" | "null"): Deno.ChildProcess {
  const child = new Deno.Command(Deno.execPath(), {
    // `manual`: the children use the node_modules this run already has, instead of queueing on its lock one by one.
    args: ["run", "--allow-all", "--node-modules-dir=manual", ...args],
    stdin,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  children.add(child);
  child.status.finally(() => children.delete(child));
  return child;
}

/** SIGKILLs every child process still running and waits for them. */
async function killChildren(): Promise<void> {
  const running = [...children];
  for (const child of running) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }
  await Promise.allSettled(running.map((child) => child.status));
}

/** Calls `onLine` for each line of `stream`; resolves with every line when it ends. */
async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<string[]> {
  const lines: string[] = [];
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (pending + chunk).split("\n");
    pending = parts.pop() ?? "";
    for (const line of parts) {
      lines.push(line);
      onLine(line);
    }
  }
  if (pending !== "") lines.push(pending);
  return lines;
}

/** The last line of `lines` that is a JSON object (iceoryx may print its own lines on stdout). */
function lastJson<T>(lines: string[], what: string): T {
  const line = lines.findLast((l) => l.startsWith("{"));
  if (line === undefined) throw new Error(`${what} printed no JSON result; its stdout ended with: ${lines.slice(-3)}`);
  return JSON.parse(line) as T;
}

/** Rejects after `ms` with `message` unless `promise` settles first. */
async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(message)), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- latency

/** One latency measurement. */
interface LatencyStats {
  p50_us: number;
  p99_us: number;
  round_trips_per_s: number;
}

/** Runs the latency client in `mode` (`unix`, `iceoryx` or `raw`) against `address`. */
async function runLatencyClient(mode: string, address: string): Promise<LatencyStats> {
  const child = spawn([LATENCY_CLIENT, mode, address, String(config.count), String(config.warmup)], "null");
  const [lines, status] = await Promise.all([readLines(child.stdout, () => {}), child.status]);
  if (!status.success) throw new Error(`latency client (${mode}) failed with exit code ${status.code}`);
  const { latencies_us } = lastJson<{ latencies_us: number[] }>(lines, `latency client (${mode})`);
  if (latencies_us.length !== config.count) {
    throw new Error(`expected ${config.count} samples, got ${latencies_us.length}`);
  }
  const mean = latencies_us.reduce((a, b) => a + b, 0) / latencies_us.length;
  return {
    p50_us: quantile(latencies_us, 0.5),
    p99_us: quantile(latencies_us, 0.99),
    round_trips_per_s: Math.round(1e6 / mean),
  };
}

/** The latency subjects: the two transports and the bare socket floor. */
type LatencySubject = "unix" | "iceoryx" | "bare_unix_echo";

/** Measures `subject` once with replies of `size`. */
async function measureLatency(
  subject: LatencySubject,
  size: SizeLabel,
  transports: Transports,
  address: string,
): Promise<LatencyStats> {
  const task = TASKS.get(size)!;
  if (subject === "bare_unix_echo") {
    const raw = serveRawEcho(address, encodeFrame({ type: "FetchTaskReply", request_id: 0, task }));
    try {
      return await runLatencyClient("raw", address);
    } finally {
      await raw.close();
    }
  }
  const server = await transports[subject]!.serve(address, fetchHandler(task));
  try {
    return await runLatencyClient(subject, server.address);
  } finally {
    await server.close();
  }
}

// ---------------------------------------------------------------- throughput

/** One throughput measurement. */
interface ThroughputStats {
  messages_per_s: number;
  worker_p50_us_median: number;
  worker_p50_us_min: number;
  worker_p50_us_max: number;
  worker_p99_us_median: number;
  spawn_and_connect_s: number;
}

/** What a throughput worker prints at the end. */
interface WorkerResult {
  requests: number;
  p50_us: number;
  p99_us: number;
}

/** Spawns `workers` workers on `transport`, waits until all are connected, starts them together, counts replies. */
async function measureThroughput(transport: IpcTransport, workers: number, address: string): Promise<ThroughputStats> {
  let counting = { from: Infinity, to: -Infinity };
  let answered = 0;
  const server = await transport.serve(
    address,
    fetchHandler(TASKS.get("256B")!, () => {
      const now = Date.now();
      if (now >= counting.from && now < counting.to) answered++;
    }),
  );
  const spawned: Deno.ChildProcess[] = [];
  try {
    const spawnStart = performance.now();
    const readies: Promise<void>[] = [];
    const outputs: Promise<string[]>[] = [];
    for (let i = 0; i < workers; i++) {
      const child = spawn([THROUGHPUT_WORKER, transport.name, server.address], "piped");
      spawned.push(child);
      const { promise: ready, resolve } = Promise.withResolvers<void>();
      readies.push(ready);
      outputs.push(readLines(child.stdout, (line) => line === "ready" && resolve()));
      // A worker that dies before it is ready fails the measurement instead of hanging it.
      child.status.then((status) => status.success || resolve());
    }
    await withTimeout(Promise.all(readies), READY_TIMEOUT_MS, `${workers} ${transport.name} workers did not connect`);
    const dead = spawned.filter((child) => !children.has(child));
    if (dead.length > 0) throw new Error(`${dead.length} ${transport.name} worker(s) exited before the start`);
    const spawnAndConnect = (performance.now() - spawnStart) / 1000;

    const start = Date.now() + START_DELAY_MS;
    counting = { from: start + config.tpWarmupMs, to: start + config.tpWarmupMs + config.windowMs };
    const signal = encoder.encode(
      JSON.stringify({ start_at_ms: start, warmup_ms: config.tpWarmupMs, window_ms: config.windowMs }) + "\n",
    );
    await Promise.all(spawned.map(async (child) => {
      const writer = child.stdin.getWriter();
      await writer.write(signal);
      await writer.close();
    }));

    const finishMs = START_DELAY_MS + config.tpWarmupMs + config.windowMs + 120_000;
    const statuses = await withTimeout(
      Promise.all(spawned.map((child) => child.status)),
      finishMs,
      `${workers} ${transport.name} workers did not finish`,
    );
    const failed = statuses.filter((s) => !s.success).length;
    if (failed > 0) throw new Error(`${failed} ${transport.name} worker(s) failed`);
    const results = await Promise.all(
      outputs.map(async (output, i) => lastJson<WorkerResult>(await output, `worker ${i}`)),
    );
    const p50s = results.map((r) => r.p50_us);
    return {
      messages_per_s: Math.round(answered / (config.windowMs / 1000)),
      worker_p50_us_median: median(p50s),
      worker_p50_us_min: Math.min(...p50s),
      worker_p50_us_max: Math.max(...p50s),
      worker_p99_us_median: median(results.map((r) => r.p99_us)),
      spawn_and_connect_s: Math.round(spawnAndConnect * 10) / 10,
    };
  } finally {
    await killChildren();
    await server.close();
  }
}

// ---------------------------------------------------------------- running

/** The transports in use; `iceoryx` is absent when it cannot be used. */
interface Transports {
  unix: IpcTransport;
  iceoryx?: IpcTransport;
}

/** Each figure of `runs` replaced by its median over the runs (`runs` kept alongside). */
function medians<T extends object>(runs: T[]): T & { runs: T[] } {
  const keys = Object.keys(runs[0]) as (keyof T)[];
  const result = Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k] as number))])) as T;
  return { ...result, runs };
}

/** `list` rotated left by `by`. */
const rotate = <T>(list: readonly T[], by: number): T[] => list.map((_, i) => list[(i + by) % list.length]);

/** Makes the iceoryx transport usable: loads its library and acquires a RouDi sized for the largest level. */
async function prepareIceoryx(): Promise<{ transport: IpcTransport; roudi: RoudiDaemon } | { reason: string }> {
  let transport: IpcTransport;
  try {
    transport = selectTransport("iceoryx", Deno.env.toObject(), { log });
  } catch (error) {
    return { reason: error instanceof Error ? error.message : String(error) };
  }
  try {
    const roudi = await acquireRoudi({ workers: Math.max(...config.workers) + 1, log });
    return { transport, roudi };
  } catch (error) {
    return { reason: `RouDi could not be started: ${error instanceof Error ? error.message : String(error)}` };
  }
}

const fmt = (n: number): string => (n >= 100 ? Math.round(n).toString() : n.toFixed(1));

/** "iceoryx X vs unix Y (… faster/more)" for one figure where `lowerIsBetter` says which way wins. */
function versus(iceoryx: number, unix: number, unit: string, lowerIsBetter: boolean): string {
  const iceoryxWins = lowerIsBetter ? iceoryx < unix : iceoryx > unix;
  const ratio = Math.max(iceoryx, unix) / Math.min(iceoryx, unix);
  return `iceoryx ${fmt(iceoryx)} vs unix ${fmt(unix)} ${unit} (${iceoryxWins ? "iceoryx" : "socket"} ${
    ratio.toFixed(2)
  }× ${lowerIsBetter ? "faster" : "more"})`;
}

async function main(): Promise<void> {
  const loadStart = Deno.loadavg();
  const unix = selectTransport("unix", Deno.env.toObject(), { log });
  const dir = await Deno.makeTempDir({ prefix: "mitosis-ipc-transports-" });
  tempDirForSignals = dir;
  const iceoryx = await prepareIceoryx();
  const roudi = "roudi" in iceoryx ? iceoryx.roudi : null;
  roudiForSignals = roudi;
  const transports: Transports = { unix, ...("transport" in iceoryx ? { iceoryx: iceoryx.transport } : {}) };
  const notRun = "reason" in iceoryx ? `not run: ${iceoryx.reason}` : null;

  const latencyRuns = new Map<string, LatencyStats[]>();
  const throughputRuns = new Map<string, ThroughputStats[]>();
  const latencySubjects: LatencySubject[] = ["unix", "iceoryx", "bare_unix_echo"];
  const tpSubjects = ["unix", "iceoryx"] as const;
  let result: Record<string, unknown>;
  try {
    for (let round = 0; round < config.runs; round++) {
      for (const size of SIZES) {
        for (const subject of rotate(latencySubjects, round)) {
          if (subject === "iceoryx" && notRun !== null) continue;
          const stats = await measureLatency(
            subject,
            size.label,
            transports,
            `${dir}/lat-${round}-${size.label}-${subject}.sock`,
          );
          const key = `${size.label}/${subject}`;
          latencyRuns.set(key, [...(latencyRuns.get(key) ?? []), stats]);
          console.error(`latency round ${round + 1}/${config.runs} ${key}: p50 ${stats.p50_us} µs`);
        }
      }
    }
    for (let round = 0; round < config.tpRuns; round++) {
      for (const workers of config.workers) {
        for (const subject of rotate(tpSubjects, round)) {
          const transport = transports[subject];
          if (transport === undefined) continue;
          const stats = await measureThroughput(transport, workers, `${dir}/tp-${round}-${workers}-${subject}.sock`);
          const key = `${workers}/${subject}`;
          throughputRuns.set(key, [...(throughputRuns.get(key) ?? []), stats]);
          console.error(
            `throughput round ${round + 1}/${config.tpRuns} ${key}: ${stats.messages_per_s} msg/s ` +
              `(spawn+connect ${stats.spawn_and_connect_s} s)`,
          );
        }
      }
    }

    const latency: Record<string, Record<string, unknown>> = {};
    const rows: (string | number)[][] = [];
    for (const size of SIZES) {
      latency[size.label] = {};
      for (const subject of latencySubjects) {
        const runs = latencyRuns.get(`${size.label}/${subject}`);
        if (runs === undefined) {
          latency[size.label][subject] = notRun;
          rows.push([`latency ${size.label}`, subject, notRun ?? "not run", "", ""]);
          continue;
        }
        const m = medians(runs);
        latency[size.label][subject] = m;
        rows.push([
          `latency ${size.label}`,
          subject,
          `p50 ${fmt(m.p50_us)} µs`,
          `p99 ${fmt(m.p99_us)} µs`,
          `${m.round_trips_per_s} rt/s`,
        ]);
      }
    }
    const throughput: Record<string, Record<string, unknown>> = {};
    for (const workers of config.workers) {
      throughput[`${workers}_workers`] = {};
      for (const subject of tpSubjects) {
        const runs = throughputRuns.get(`${workers}/${subject}`);
        if (runs === undefined) {
          throughput[`${workers}_workers`][subject] = notRun;
          rows.push([`throughput ${workers} workers`, subject, notRun ?? "not run", "", ""]);
          continue;
        }
        const m = medians(runs);
        throughput[`${workers}_workers`][subject] = m;
        rows.push([
          `throughput ${workers} workers`,
          subject,
          `${m.messages_per_s} msg/s`,
          `worker p50 ${fmt(m.worker_p50_us_median)} µs (${fmt(m.worker_p50_us_min)}–${fmt(m.worker_p50_us_max)})`,
          `worker p99 ${fmt(m.worker_p99_us_median)} µs`,
        ]);
      }
    }

    console.log(
      `IPC transports side by side: latency median of ${config.runs} round(s) × ${config.count} sequential round trips ` +
        `(after ${config.warmup}); throughput median of ${config.tpRuns} round(s), ${config.windowMs} ms window after ` +
        `${config.tpWarmupMs} ms warm-up. Reply JSON: ${
          SIZES.map((s) => `${s.label} = ${replyBytes(TASKS.get(s.label)!)} B`).join(", ")
        }.`,
    );
    if (roudi !== null && !roudi.started) {
      console.log(
        "note: iceoryx used the RouDi another process had already started (its mempools; were it stopped " +
          "during the run, iceoryx would abort this bench).",
      );
    }
    printTable(["measurement", "transport", "result", "", ""], rows);

    const comparisons: string[] = [];
    if (notRun === null) {
      for (const size of SIZES) {
        const [i, u] = [latencyRuns.get(`${size.label}/iceoryx`)!, latencyRuns.get(`${size.label}/unix`)!].map(medians);
        comparisons.push(`latency ${size.label} p50 ${versus(i.p50_us, u.p50_us, "µs", true)}`);
        comparisons.push(`p99 ${versus(i.p99_us, u.p99_us, "µs", true)}`);
      }
      for (const workers of config.workers) {
        const [i, u] = [throughputRuns.get(`${workers}/iceoryx`)!, throughputRuns.get(`${workers}/unix`)!].map(medians);
        comparisons.push(`${workers} workers ${versus(i.messages_per_s, u.messages_per_s, "msg/s", false)}`);
      }
      console.log(`shared memory vs socket: ${comparisons.join("; ")}.`);
    } else {
      console.log(`shared memory vs socket: iceoryx ${notRun}; only the socket was measured.`);
    }

    result = {
      bench: "ipc",
      machine: {
        cpus: navigator.hardwareConcurrency,
        cpu_model: await cpuModel(),
        os_release: Deno.osRelease(),
        deno: Deno.version.deno,
        loadavg_start: loadStart,
        loadavg_end: Deno.loadavg(),
      },
      config: {
        ...config,
        reply_bytes: Object.fromEntries(SIZES.map((s) => [s.label, replyBytes(TASKS.get(s.label)!)])),
        roudi: roudi === null ? null : roudi.started ? `started (pid ${roudi.pid})` : "shared: already running",
      },
      latency,
      throughput,
      comparison: comparisons,
    };
  } finally {
    await killChildren();
    await Deno.remove(dir, { recursive: true });
    await stopRoudi(roudi);
  }
  console.log(JSON.stringify(result));
}

/** The CPU model from /proc/cpuinfo, or null. */
async function cpuModel(): Promise<string | null> {
  try {
    const text = await Deno.readTextFile("/proc/cpuinfo");
    return text.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? null;
  } catch {
    return null;
  }
}

let stoppingRoudi = false;
/** The RouDi and temporary directory a signal handler must clean up. */
let roudiForSignals: RoudiDaemon | null = null;
let tempDirForSignals: string | null = null;

/**
 * Stops a RouDi this process started. RouDi may SIGTERM the processes
 * registered with it, this one included; that SIGTERM is ignored meanwhile.
 */
async function stopRoudi(roudi: RoudiDaemon | null): Promise<void> {
  if (roudi === null || !roudi.started) return;
  stoppingRoudi = true;
  await roudi.stop();
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    if (stoppingRoudi) return;
    console.error(`ipc bench: ${signal}, stopping the workers`);
    killChildren()
      .then(() => tempDirForSignals === null ? undefined : Deno.remove(tempDirForSignals, { recursive: true }))
      .then(() => stopRoudi(roudiForSignals))
      .finally(() => Deno.exit(signal === "SIGINT" ? 130 : 143));
  });
}

await main();
Deno.exit(0);
