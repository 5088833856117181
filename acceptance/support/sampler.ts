/**
 * Resource sampling of the processes of an acceptance run, from `/proc`:
 * every `intervalMs` (default 250 ms) it reads, for each process the watch
 * function names (coordinator, managers, their managed workers…), its
 * resident set size (`VmRSS` of `/proc/<pid>/status`), its open file
 * descriptors (entries of `/proc/<pid>/fd`), its CPU time (`utime +
 * stime` of `/proc/<pid>/stat`, the process itself, not its children) and
 * its main thread's wait for a CPU (`/proc/<pid>/schedstat`), plus the
 * machine's busy and total CPU time (`/proc/stat`). Processes appear in
 * the series when first seen and keep their samples after they exit.
 *
 * Leaks (`steadyGrowth`, `settledFds`): resource use that grows and does not
 * level off. The rules, used by case 8.4.4:
 *
 * - **steady phase**: the samples of a process between the suite's start
 *   and its completion, in three equal thirds of that time. The first third
 *   is the warm-up (heaps, pools and caches filling); a process whose use
 *   has levelled off holds the same peak in the last third as in the middle
 *   one. Memory leaks when the last third's peak RSS exceeds the middle
 *   third's by more than `rssSlackMiB` and by more than `rssSlackFraction`
 *   of it (garbage-collected heaps wander by a few MiB); descriptors leak
 *   when the last third's peak exceeds the middle third's by more than
 *   `fdSlack`. A third with fewer than `minSamplesPerThird` samples gives no
 *   verdict (the run was too short to tell).
 * - **after the suite**: descriptors return to the count the process had
 *   before the suite (idle, connected), compared by the case with its own
 *   slack per role.
 *
 * @example
 * ```ts
 * using sampler = new ResourceSampler(() => [{ pid: coordinatorPid, role: "coordinator", name: "coordinator" }]);
 * // … the run …
 * sampler.stop();
 * const verdict = steadyGrowth(sampler.series()[0], startedAt, completedAt);
 * ```
 */

/** What a sampled process is in the run. */
export type Role = "coordinator" | "manager" | "worker" | "postgres";

/** A process to sample. */
export interface WatchedProcess {
  pid: number;
  role: Role;
  /** Unique within the run, e.g. `manager-2`, `manager-2/worker-pid-1234`. */
  name: string;
}

/** One reading of one process. */
export interface ResourceSample {
  /** `performance.now()` of the reading. */
  atMs: number;
  rssMiB: number;
  fds: number;
  /** CPU time used so far (user + system), seconds. */
  cpuS: number;
  /**
   * Time its main thread spent runnable but waiting for a CPU, seconds, and
   * the time slices it ran (`/proc/<pid>/schedstat`; 0 when unavailable).
   */
  runQueueS: number;
  slices: number;
}

/** Every reading of one process. */
export interface ProcessSeries extends WatchedProcess {
  samples: ResourceSample[];
}

/** One reading of the machine's CPU time (all CPUs), seconds. */
export interface MachineSample {
  atMs: number;
  busyS: number;
  totalS: number;
}

let clockTicks: number | undefined;

/** Clock ticks per second of `/proc` CPU times (`getconf CLK_TCK`, 100 when that fails). */
export function clockTicksPerSecond(): number {
  if (clockTicks !== undefined) return clockTicks;
  try {
    const out = new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped", stderr: "null" }).outputSync();
    clockTicks = Number(new TextDecoder().decode(out.stdout).trim()) || 100;
  } catch {
    clockTicks = 100;
  }
  return clockTicks;
}

/** The fields of `/proc/<pid>/stat` after the command name, from `state` (field 3) on; null when it is gone. */
function statFields(pid: number): string[] | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** Open file descriptors of `pid` (0 when it is gone). */
export function openFds(pid: number): number {
  try {
    let count = 0;
    for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) count++;
    return count;
  } catch {
    return 0;
  }
}

/**
 * Child processes of `pid` (of any of its threads), from
 * `/proc/<pid>/task/<tid>/children`; empty when it is gone.
 */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        const text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`).trim();
        if (text !== "") children.push(...text.split(/\s+/).map(Number));
      } catch {
        // thread ended meanwhile
      }
    }
  } catch {
    // process gone
  }
  return children;
}

/** The command line of `pid`, arguments separated by spaces ("" when it is gone). */
export function commandLine(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").join(" ");
  } catch {
    return "";
  }
}

/** One reading of `pid`, or null when it has exited (or is a zombie). */
export function readProcess(pid: number): Omit<ResourceSample, "atMs"> | null {
  const fields = statFields(pid);
  if (fields === null || fields[0] === "Z" || fields[0] === "X") return null;
  let status: string;
  try {
    status = Deno.readTextFileSync(`/proc/${pid}/status`);
  } catch {
    return null;
  }
  const rssKiB = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  // utime and stime are fields 14 and 15 of stat: 11 and 12 counted from `state`.
  const cpuS = (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond();
  let runQueueS = 0;
  let slices = 0;
  try {
    // On-CPU ns, run-queue wait ns, time slices.
    const [, wait, count] = Deno.readTextFileSync(`/proc/${pid}/schedstat`).trim().split(" ").map(Number);
    runQueueS = wait / 1e9;
    slices = count;
  } catch {
    // kernel without schedstats
  }
  return { rssMiB: rssKiB / 1024, fds: openFds(pid), cpuS, runQueueS, slices };
}

/** The machine's busy and total CPU time so far (first line of `/proc/stat`). */
export function readMachineCpu(): Omit<MachineSample, "atMs"> {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = ticks[3] + (ticks[4] ?? 0);
  const hz = clockTicksPerSecond();
  return { busyS: (total - idle) / hz, totalS: total / hz };
}

/**
 * Open TCP sockets of `pid` whose peer listens on `peerPort` (e.g. its
 * database connections): its `socket:[inode]` descriptors matched with the
 * connections of `/proc/<pid>/net/tcp` and `tcp6`.
 */
export function socketsToPort(pid: number, peerPort: number): number {
  const inodes = new Set<string>();
  try {
    for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        const target = Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`);
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode !== undefined) inodes.add(inode);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return 0;
  }
  let count = 0;
  for (const table of ["tcp", "tcp6"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(`/proc/${pid}/net/${table}`);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns.length < 10) continue;
      const remotePort = parseInt(columns[2].split(":")[1], 16);
      if (remotePort === peerPort && inodes.has(columns[9])) count++;
    }
  }
  return count;
}

/** Samples the watched processes at a fixed interval until stopped. */
export class ResourceSampler implements Disposable {
  readonly intervalMs: number;
  readonly #watch: () => WatchedProcess[];
  readonly #series = new Map<number, ProcessSeries>();
  readonly #machine: MachineSample[] = [];
  readonly #marks = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Starts sampling now; `watch` is asked for the processes at every tick (new ones join the series). */
  constructor(watch: () => WatchedProcess[], intervalMs = 250) {
    this.#watch = watch;
    this.intervalMs = intervalMs;
    this.sampleNow();
    this.#timer = setInterval(() => this.sampleNow(), intervalMs);
  }

  /** Takes one reading of every watched process (and of the machine) now. */
  sampleNow(): void {
    const atMs = performance.now();
    this.#machine.push({ atMs, ...readMachineCpu() });
    for (const process of this.#watch()) {
      const reading = readProcess(process.pid);
      if (reading === null) continue;
      let series = this.#series.get(process.pid);
      if (series === undefined) {
        series = { ...process, samples: [] };
        this.#series.set(process.pid, series);
      }
      series.samples.push({ atMs, ...reading });
    }
  }

  /** Records the time of a phase boundary (`performance.now()` unless given); returns it. */
  mark(name: string, atMs = performance.now()): number {
    this.#marks.set(name, atMs);
    return atMs;
  }

  /** The time recorded for `name`; throws when it was not marked. */
  markOf(name: string): number {
    const at = this.#marks.get(name);
    if (at === undefined) throw new Error(`phase ${name} was not marked`);
    return at;
  }

  /** Every process seen so far, in order of first sighting. */
  series(): ProcessSeries[] {
    return [...this.#series.values()];
  }

  /** The processes of one role. */
  byRole(role: Role): ProcessSeries[] {
    return this.series().filter((s) => s.role === role);
  }

  /** Machine CPU busy share (0–1) between two times (nearest samples). */
  machineBusy(fromMs: number, toMs: number): number {
    const within = this.#machine.filter((m) => m.atMs >= fromMs && m.atMs <= toMs);
    if (within.length < 2) return NaN;
    const first = within[0];
    const last = within[within.length - 1];
    return (last.busyS - first.busyS) / (last.totalS - first.totalS);
  }

  /** Stops sampling (idempotent). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  [Symbol.dispose](): void {
    this.stop();
  }
}

/** Samples of `series` between two times. */
export function samplesBetween(series: ProcessSeries, fromMs: number, toMs: number): ResourceSample[] {
  return series.samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs);
}

/** The sample of `series` nearest to `atMs` (null when it has none). */
export function sampleAt(series: ProcessSeries, atMs: number): ResourceSample | null {
  let best: ResourceSample | null = null;
  for (const s of series.samples) {
    if (best === null || Math.abs(s.atMs - atMs) < Math.abs(best.atMs - atMs)) best = s;
  }
  return best;
}

/** CPU seconds `series` used between two times (first and last sample within them; 0 with fewer than 2). */
export function cpuBetween(series: ProcessSeries, fromMs: number, toMs: number): number {
  const within = samplesBetween(series, fromMs, toMs);
  if (within.length < 2) return 0;
  return within[within.length - 1].cpuS - within[0].cpuS;
}

/**
 * Mean wait for a CPU per time slice of `series`'s main thread between two
 * times, ms: how long the process, once it had work (a message to answer),
 * waited before it ran. NaN without scheduler statistics.
 */
export function runQueueWaitPerSlice(series: ProcessSeries, fromMs: number, toMs: number): number {
  const within = samplesBetween(series, fromMs, toMs);
  if (within.length < 2) return NaN;
  const first = within[0];
  const last = within[within.length - 1];
  const slices = last.slices - first.slices;
  return slices === 0 ? NaN : 1000 * (last.runQueueS - first.runQueueS) / slices;
}

/** Thresholds of `steadyGrowth`. */
export interface LeakRule {
  /** RSS growth of the last third's peak over the middle third's tolerated, MiB … */
  rssSlackMiB: number;
  /** … and as a fraction of the middle third's peak (both must be exceeded for a leak). */
  rssSlackFraction: number;
  /** Descriptor growth of the last third's peak over the middle third's tolerated. */
  fdSlack: number;
  /** Fewest samples in each third for a verdict. */
  minSamplesPerThird: number;
}

/** The rule of case 8.4.4. */
export const LEAK_RULE: LeakRule = { rssSlackMiB: 8, rssSlackFraction: 0.1, fdSlack: 2, minSamplesPerThird: 8 };

/** What `steadyGrowth` found for one process. */
export interface GrowthVerdict {
  name: string;
  role: Role;
  /** Peak RSS in the middle and last thirds, MiB. */
  middleRssMiB: number;
  lastRssMiB: number;
  middleFds: number;
  lastFds: number;
  rssLeak: boolean;
  fdLeak: boolean;
}

/**
 * Applies the steady-phase rule (module doc) to `series` between `fromMs`
 * and `toMs`; null when a third holds fewer than `rule.minSamplesPerThird`
 * samples.
 */
export function steadyGrowth(
  series: ProcessSeries,
  fromMs: number,
  toMs: number,
  rule: LeakRule = LEAK_RULE,
): GrowthVerdict | null {
  const third = (toMs - fromMs) / 3;
  const middle = samplesBetween(series, fromMs + third, fromMs + 2 * third);
  const last = samplesBetween(series, fromMs + 2 * third, toMs);
  if (middle.length < rule.minSamplesPerThird || last.length < rule.minSamplesPerThird) return null;
  const peak = (samples: ResourceSample[], pick: (s: ResourceSample) => number) => Math.max(...samples.map(pick));
  const middleRssMiB = peak(middle, (s) => s.rssMiB);
  const lastRssMiB = peak(last, (s) => s.rssMiB);
  const middleFds = peak(middle, (s) => s.fds);
  const lastFds = peak(last, (s) => s.fds);
  const growth = lastRssMiB - middleRssMiB;
  return {
    name: series.name,
    role: series.role,
    middleRssMiB,
    lastRssMiB,
    middleFds,
    lastFds,
    rssLeak: growth > rule.rssSlackMiB && growth > rule.rssSlackFraction * middleRssMiB,
    fdLeak: lastFds - middleFds > rule.fdSlack,
  };
}
