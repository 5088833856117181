/**
 * RouDi, iceoryx's central daemon: finding it, telling whether one runs,
 * sizing its shared memory for the manager's workers, and starting and
 * stopping it.
 *
 * One RouDi serves the whole machine. iceoryx 2.0.3 names its resources
 * with fixed paths, so a second RouDi cannot run beside the first:
 * - `/tmp/iox-unique-roudi.lock`, flock(2)ed for RouDi's whole life
 *   (ROUDI_LOCK_NAME; a second RouDi aborts with "Could not acquire lock");
 * - `/tmp/roudi`, the Unix datagram socket apps register on
 *   (IPC_CHANNEL_ROUDI_NAME), with its own lock `/tmp/roudi.lock`;
 * - `/dev/shm/iceoryx_mgmt` (management, about 64 MiB) and one payload
 *   segment per configured segment, named after its writer group (by
 *   default the group of RouDi's process, e.g. `/dev/shm/root`).
 * Managers on one machine therefore share a RouDi (`acquireRoudi`). A
 * SIGTERMed RouDi removes all of these (after SIGTERMing every app
 * registered with it, which is why `stop()` uses SIGKILL and removes them
 * itself); a SIGKILLed one leaves them behind, and the next RouDi copes by itself (the flock died with the process, the
 * socket is unlinked, the shared memory is purged and created again).
 *
 * Apps must not call `iox_runtime_init` before a RouDi answers: without one
 * it waits 60 s and then aborts the whole process.
 */
import { parentDeathPrefix } from "../../exec/task_user.ts";
import type { Logger } from "../../log/logger.ts";
import { MAX_IPC_MESSAGE_BYTES } from "../limits.ts";

/** The iceoryx C binding that the transport opens with `Deno.dlopen` (Debian `libiceoryx-binding-c-dev`). */
export const ICEORYX_LIBRARY = "libiceoryx_binding_c.so.2";

/** Environment variable naming the `iox-roudi` executable to use. */
export const ROUDI_BINARY_ENV = "MITOSIS_IOX_ROUDI";

/** RouDi's socket, where apps register (`IOX_UDS_SOCKET_PATH_PREFIX` + `IPC_CHANNEL_ROUDI_NAME`). */
export const ROUDI_SOCKET_PATH = "/tmp/roudi";

/** The flock RouDi holds while it lives (`IOX_LOCK_FILE_PATH_PREFIX` + `ROUDI_LOCK_NAME` + `.lock`). */
export const ROUDI_LOCK_PATH = "/tmp/iox-unique-roudi.lock";

/** The lock of RouDi's socket (`FileLock` named after the IPC channel). */
const ROUDI_SOCKET_LOCK_PATH = "/tmp/roudi.lock";

/** RouDi's management segment in `/dev/shm` (`SHM_NAME`). */
export const ICEORYX_MANAGEMENT_SHM = "iceoryx_mgmt";

/** The line RouDi prints on stdout once its socket is bound. */
export const ROUDI_READY_LINE = "RouDi is ready for clients";

/** Bytes a transport frame may add in front of a JSON message. */
export const IPC_FRAME_HEADER_BYTES = 64;

/** How long `startRoudi` waits for RouDi by default. */
const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** Poll interval of `roudiReachable` while a RouDi is starting. */
const REACHABLE_POLL_MS = 20;
/** RouDi output lines kept for error messages. */
const OUTPUT_TAIL_LINES = 40;

/** RouDi could not be started or did not become ready; `output` is the tail of what it printed. */
export class RoudiError extends Error {
  readonly output: string;
  constructor(message: string, output = "") {
    super(output === "" ? message : `${message}\n--- iox-roudi output ---\n${output}`);
    this.name = "RoudiError";
    this.output = output;
  }
}

/** Whether `path` is an executable regular file. */
function isExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && (info.mode === null || (info.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

/**
 * The `iox-roudi` executable: `MITOSIS_IOX_ROUDI` when set (null when that
 * path is not executable: an explicit choice is never replaced), else the
 * first one on `PATH`, else `/usr/bin/iox-roudi`; null when there is none.
 */
export function findRoudiBinary(env: { get(key: string): string | undefined } = Deno.env): string | null {
  const chosen = env.get(ROUDI_BINARY_ENV);
  if (chosen !== undefined && chosen !== "") return isExecutable(chosen) ? chosen : null;
  for (const dir of (env.get("PATH") ?? "").split(":")) {
    if (dir !== "" && isExecutable(`${dir}/iox-roudi`)) return `${dir}/iox-roudi`;
  }
  return isExecutable("/usr/bin/iox-roudi") ? "/usr/bin/iox-roudi" : null;
}

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
/** `sizeof(struct sockaddr_un)` on Linux. */
const SOCKADDR_UN_BYTES = 110;

/**
 * Whether a datagram `connect(2)` to RouDi's socket succeeds: it does only
 * while a process has the socket bound; a file left by a dead RouDi gives
 * ECONNREFUSED, a missing one ENOENT. Unix datagram connects never block.
 * Needs `--allow-ffi` (libc through `Deno.dlopen`; Deno cannot connect a
 * Unix datagram socket otherwise).
 */
function roudiSocketAccepts(): boolean {
  const libc = Deno.dlopen(
    "libc.so.6",
    {
      socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
      connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
      close: { parameters: ["i32"], result: "i32" },
    } as const,
  );
  try {
    const path = new TextEncoder().encode(ROUDI_SOCKET_PATH);
    const address = new Uint8Array(SOCKADDR_UN_BYTES);
    new DataView(address.buffer).setUint16(0, AF_UNIX, true);
    address.set(path, 2);
    const fd = libc.symbols.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    try {
      return libc.symbols.connect(fd, address, 2 + path.length + 1) === 0;
    } finally {
      libc.symbols.close(fd);
    }
  } finally {
    libc.close();
  }
}

/**
 * Whether some process holds RouDi's flock. Probed with a non-blocking
 * exclusive lock on a fresh descriptor, released at once; a missing or
 * unreadable file counts as not held. (A RouDi starting within the same
 * microseconds would see the lock taken and abort; only a concurrent start
 * by another manager can hit that.)
 */
async function roudiLockHeld(): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(ROUDI_LOCK_PATH, { read: true });
  } catch {
    return false;
  }
  try {
    const acquired = await file.tryLock(true);
    if (acquired) await file.unlock();
    return !acquired;
  } finally {
    file.close();
  }
}

/**
 * Whether a RouDi runs on this machine and answers on its socket, without
 * `iox_runtime_init` (which waits 60 s, then aborts the process).
 *
 * The check is a datagram `connect(2)` to `/tmp/roudi` (bound only while a
 * RouDi's socket thread runs, just before it prints "ready"). When that
 * fails, RouDi's flock decides: not held (no RouDi, or a killed one that
 * left stale files) → false at once; held → a RouDi is starting, so the
 * socket is polled until `timeoutMs`. False therefore comes back within
 * milliseconds when none runs. Needs `--allow-ffi` and read access to `/tmp`.
 */
export async function roudiReachable(timeoutMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (roudiSocketAccepts()) return true;
    if (!(await roudiLockHeld()) || Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, REACHABLE_POLL_MS));
  }
}

/** One RouDi mempool: chunk payload size (a multiple of 8) and chunk count. */
export interface RoudiMempool {
  size: number;
  count: number;
}

/** Payload size of the largest chunk: a whole message plus its frame header, rounded up to 4 KiB. */
const LARGEST_CHUNK_BYTES = MAX_IPC_MESSAGE_BYTES + 4096;

/**
 * The mempools of `roudiConfig(workers)`, smallest first (RouDi requires the
 * order). iceoryx loans from the smallest pool whose chunks fit and does not
 * fall back to a larger pool when that one is empty, so every size class
 * has room for bursts:
 * - 4 KiB × (32·workers + 256): requests, replies, heartbeats;
 * - 64 KiB × (4·workers + 64): medium results;
 * - 1 MiB × 16;
 * - 16 MiB + 4 KiB × 4: messages up to `MAX_IPC_MESSAGE_BYTES` (16 MiB) plus
 *   the 64-byte frame header.
 * Payload memory: 85 MiB + 384 KiB per worker (86 MiB for 1 worker, 91 MiB
 * for 16, 109 MiB for 64), plus iceoryx's chunk header per chunk; RouDi
 * adds its fixed management segment (about 63 MiB). RouDi zeroes both at
 * start, so they are committed memory in `/dev/shm` (about 150 MiB for 1
 * worker, about 172 MiB for 64; a smaller `/dev/shm` makes RouDi die of SIGBUS).
 */
export function roudiMempools(workers: number): RoudiMempool[] {
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`workers must be a positive integer, got ${workers}`);
  }
  return [
    { size: 4096, count: workers * 32 + 256 },
    { size: 65536, count: workers * 4 + 64 },
    { size: 1 << 20, count: 16 },
    { size: LARGEST_CHUNK_BYTES, count: 4 },
  ];
}

/**
 * A RouDi TOML config (`iox-roudi -c`) with one payload segment for the
 * default writer/reader group and the mempools of `roudiMempools(workers)`
 * (85 MiB + 384 KiB per worker of payload shared memory).
 */
export function roudiConfig(workers: number): string {
  const pools = roudiMempools(workers).map((pool) =>
    `[[segment.mempool]]\nsize = ${pool.size}\ncount = ${pool.count}\n`
  );
  return `# Written by Mitosis for ${workers} managed worker(s).\n[general]\nversion = 1\n\n[[segment]]\n\n${
    pools.join("\n")
  }`;
}

/** A RouDi in use by this process. */
export interface RoudiDaemon {
  /** RouDi's process id; null when it is another process's RouDi. */
  readonly pid: number | null;
  /** Whether this process started it (and `stop()` ends it). */
  readonly started: boolean;
  /** Ends a RouDi this process started and removes what it left; idempotent, a no-op when `started` is false. */
  stop(): Promise<void>;
}

/** Options of `startRoudi` and `acquireRoudi`. */
export interface StartRoudiOptions {
  /** Managed workers the mempools are sized for. */
  workers: number;
  log: Logger;
  /** `iox-roudi` to run; default `findRoudiBinary()`. */
  binary?: string;
  /** How long to wait for "RouDi is ready for clients"; default 10 s. */
  readyTimeoutMs?: number;
}

/** Strips ANSI colour codes from RouDi's log lines. */
// deno-lint-ignore no-control-regex
const stripColour = (line: string): string => line.replace(/\x1b\[[0-9;]*m/g, "");

/** Reads `stream` line by line until it ends. */
async function forEachLine(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (pending + chunk).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  }
  if (pending !== "") onLine(pending);
}

/** Removes `path`; a missing file is fine, other failures are logged. */
async function removeQuietly(path: string, log: Logger, options?: Deno.RemoveOptions): Promise<void> {
  try {
    await Deno.remove(path, options);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) log.warn("cannot remove an iceoryx leftover", { path, error });
  }
}

/** A RouDi child process, its output and its teardown. */
class StartedRoudi implements RoudiDaemon {
  readonly started = true;
  readonly pid: number;
  readonly #child: Deno.ChildProcess;
  readonly #dir: string;
  readonly #log: Logger;
  readonly #tail: string[] = [];
  /** `/dev/shm` names RouDi reported reserving. */
  readonly #shmNames = new Set<string>([ICEORYX_MANAGEMENT_SHM]);
  readonly #output: Promise<void>;
  readonly exited: Promise<Deno.CommandStatus>;
  readonly ready: Promise<void>;
  #stopping: Promise<void> | null = null;

  constructor(child: Deno.ChildProcess, dir: string, log: Logger) {
    this.#child = child;
    this.pid = child.pid;
    this.#dir = dir;
    this.#log = log.child({ roudi_pid: child.pid });
    let markReady = () => {};
    this.ready = new Promise((resolve) => markReady = resolve);
    const onLine = (raw: string) => {
      const line = stripColour(raw).trimEnd();
      if (line === "") return;
      this.#tail.push(line);
      if (this.#tail.length > OUTPUT_TAIL_LINES) this.#tail.shift();
      const shm = /shared memory \[([^\]/]+)\]/.exec(line);
      if (shm !== null && shm[1] !== "." && shm[1] !== "..") this.#shmNames.add(shm[1]);
      if (line.includes(ROUDI_READY_LINE)) markReady();
      if (/^\S+ \S+ \[\s*(Warning|Error|Fatal)\s*\]/.test(line)) this.#log.warn("iox-roudi reported", { line });
      else this.#log.debug("iox-roudi output", { line });
    };
    this.#output = Promise.all([forEachLine(child.stdout, onLine), forEachLine(child.stderr, onLine)]).then(() => {});
    this.exited = child.status.then((status) => {
      const fields = { code: status.code, signal: status.signal };
      if (this.#stopping === null) this.#log.warn("iox-roudi exited unexpectedly", fields);
      else this.#log.info("iox-roudi exited", fields);
      return status;
    });
  }

  /** The last lines RouDi printed. */
  get output(): string {
    return this.#tail.join("\n");
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#teardown();
    return this.#stopping;
  }

  /**
   * SIGKILL, then removal of the config dir and of the files RouDi leaves.
   * Not SIGTERM: on SIGTERM RouDi sends SIGTERM to every process registered
   * with it (this one included, and any worker still attached) and waits for
   * them; a RouDi is stopped only once its users are done with it.
   */
  async #teardown(): Promise<void> {
    await this.#signalAndWait("SIGKILL", null);
    await this.#output;
    await removeQuietly(this.#dir, this.#log, { recursive: true });
    // Another RouDi may be running or starting meanwhile: its files are not leftovers.
    if (roudiSocketAccepts() || await roudiLockHeld()) return;
    for (const name of this.#shmNames) await removeQuietly(`/dev/shm/${name}`, this.#log);
    for (const path of [ROUDI_SOCKET_PATH, ROUDI_SOCKET_LOCK_PATH, ROUDI_LOCK_PATH]) {
      await removeQuietly(path, this.#log);
    }
  }

  /** Sends `signal` unless RouDi already exited; whether it exited within `timeoutMs` (null: wait as long as it takes). */
  async #signalAndWait(signal: Deno.Signal, timeoutMs: number | null): Promise<boolean> {
    try {
      this.#child.kill(signal);
    } catch {
      // Already exited (and reaped): nothing to signal.
    }
    if (timeoutMs === null) {
      await this.exited;
      return true;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), timeoutMs));
    try {
      return await Promise.race([this.exited.then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Starts a RouDi for `workers` managed workers: writes `roudiConfig` into a
 * private (0700) temp dir and runs `iox-roudi -c <file> -l warning -m on`
 * (monitoring on, so the ports of dead apps are released) through `setpriv
 * --pdeathsig KILL` when installed, so RouDi dies with this process. Resolves
 * once RouDi prints "RouDi is ready for clients" and its socket answers.
 * Throws `RoudiError` (with RouDi's output) when the binary is missing, RouDi
 * exits (e.g. another RouDi runs: see `acquireRoudi`) or is not ready within
 * `readyTimeoutMs`; whatever it started is then stopped again.
 */
export async function startRoudi(options: StartRoudiOptions): Promise<RoudiDaemon> {
  const binary = options.binary ?? findRoudiBinary();
  if (binary === null) {
    throw new RoudiError(`iox-roudi not found (set ${ROUDI_BINARY_ENV}, or install Debian's iceoryx package)`);
  }
  if (!isExecutable(binary)) throw new RoudiError(`iox-roudi not found or not executable at ${binary}`);
  const config = roudiConfig(options.workers);
  const dir = await Deno.makeTempDir({ prefix: "mitosis-roudi-" });
  let child: Deno.ChildProcess;
  try {
    await Deno.chmod(dir, 0o700);
    const configPath = `${dir}/roudi_config.toml`;
    await Deno.writeTextFile(configPath, config, { mode: 0o600 });
    const argv = [...parentDeathPrefix(undefined), binary, "-c", configPath, "-l", "warning", "-m", "on"];
    child = new Deno.Command(argv[0], { args: argv.slice(1), stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  } catch (error) {
    await removeQuietly(dir, options.log, { recursive: true });
    throw new RoudiError(`cannot start ${binary}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const roudi = new StartedRoudi(child, dir, options.log);
  options.log.info("iox-roudi spawned", { pid: roudi.pid, binary, workers: options.workers });
  const timeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    roudi.ready.then(() => "ready" as const),
    roudi.exited.then(() => "exited" as const),
    new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), timeoutMs)),
  ]);
  clearTimeout(timer);
  let failure: string | null = null;
  if (outcome === "exited") failure = `iox-roudi (pid ${roudi.pid}) exited before it was ready`;
  else if (outcome === "timeout") failure = `iox-roudi (pid ${roudi.pid}) was not ready within ${timeoutMs} ms`;
  else if (!(await roudiReachable(timeoutMs))) {
    failure = `iox-roudi (pid ${roudi.pid}) said it was ready but ${ROUDI_SOCKET_PATH} does not answer`;
  }
  if (failure !== null) {
    await roudi.stop();
    throw new RoudiError(failure, roudi.output);
  }
  options.log.info("iox-roudi ready", { pid: roudi.pid });
  return roudi;
}

/**
 * The RouDi this process should use: the one already running on this
 * machine when `roudiReachable()` (handle with `started: false`, pid null,
 * a `stop()` that does nothing), else a new one from `startRoudi`. One
 * RouDi serves every iceoryx app on the machine, so a manager that finds one
 * shares it, with that RouDi's mempools.
 */
export async function acquireRoudi(options: StartRoudiOptions): Promise<RoudiDaemon> {
  if (await roudiReachable()) {
    options.log.info("using the iox-roudi already running on this machine", { socket: ROUDI_SOCKET_PATH });
    return { pid: null, started: false, stop: () => Promise.resolve() };
  }
  return await startRoudi(options);
}
