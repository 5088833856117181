/**
 * CPU binding of managed workers (SPEC §6, `worker_schedule.cpu_binding`):
 * which cores each worker may run on, applied with util-linux `taskset -c`
 * (the worker and every task it spawns inherit the affinity).
 *
 * - `RoundRobin`: worker i gets core `cores[i mod n]`;
 * - `Exclusive`: the cores are cut into disjoint contiguous slices, one per
 *   worker, as even as possible (the first `n mod w` slices get one core
 *   more). With fewer cores than workers the slices cannot be disjoint: the
 *   binding falls back to RoundRobin and says so;
 * - `Shared`: every worker gets all the listed cores.
 *
 * Cores the manager itself may not use (its own affinity,
 * `Cpus_allowed_list` in `/proc/self/status`) are dropped first, so a
 * binding naming cores the host lacks never stops workers from starting.
 */
import type { z } from "zod";
import type { CpuBindingSchema } from "../../shared/wire/suites.ts";

/** A suite's CPU binding. */
export type CpuBinding = z.output<typeof CpuBindingSchema>;

/** The core set of every worker, with what was adjusted on the way. */
export interface CpuPlan {
  /** Core list of worker i (ascending, no duplicates); null = no binding. */
  sets: (number[] | null)[];
  /** Human-readable notes about adjustments (cores dropped, fallback), for a warning log line. */
  notes: string[];
}

/** Unique cores, in the order first listed. */
function uniqueCores(cores: readonly number[]): number[] {
  return [...new Set(cores)];
}

/**
 * Computes the core set of each of `workerCount` workers. `allowed`, when
 * given, is the set of cores the manager may use; others are dropped. With
 * no usable core left every worker runs unbound (`null`).
 *
 * @example
 * cpuPlan({ cores: [0, 1, 2, 3], strategy: "Exclusive" }, 2).sets // [[0, 1], [2, 3]]
 */
export function cpuPlan(
  binding: CpuBinding | null | undefined,
  workerCount: number,
  allowed?: ReadonlySet<number>,
): CpuPlan {
  const notes: string[] = [];
  if (binding === null || binding === undefined) return { sets: Array(workerCount).fill(null), notes };
  let cores = uniqueCores(binding.cores);
  if (allowed !== undefined) {
    const dropped = cores.filter((c) => !allowed.has(c));
    if (dropped.length > 0) notes.push(`cores ${dropped.join(",")} are not available to this manager; ignored`);
    cores = cores.filter((c) => allowed.has(c));
  }
  if (cores.length === 0) {
    notes.push("no listed core is available; workers run unbound");
    return { sets: Array(workerCount).fill(null), notes };
  }
  const n = cores.length;
  const sets: number[][] = [];
  let strategy = binding.strategy;
  if (strategy === "Exclusive" && n < workerCount) {
    notes.push(`Exclusive binding needs at least ${workerCount} cores, ${n} available; using RoundRobin`);
    strategy = "RoundRobin";
  }
  switch (strategy) {
    case "RoundRobin":
      for (let i = 0; i < workerCount; i++) sets.push([cores[i % n]]);
      break;
    case "Shared":
      for (let i = 0; i < workerCount; i++) sets.push([...cores].sort((a, b) => a - b));
      break;
    case "Exclusive": {
      const base = Math.floor(n / workerCount);
      const extra = n % workerCount;
      let start = 0;
      for (let i = 0; i < workerCount; i++) {
        const size = base + (i < extra ? 1 : 0);
        sets.push(cores.slice(start, start + size).sort((a, b) => a - b));
        start += size;
      }
      break;
    }
  }
  return { sets, notes };
}

/**
 * Parses a Linux CPU list (`0-3,8,10-11`) as `/proc/self/status` and
 * `taskset` write it; null when it is not one.
 */
export function parseCpuList(text: string): Set<number> | null {
  const cores = new Set<number>();
  for (const part of text.trim().split(",")) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (match === null) return null;
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (to < from || to - from > 65_536) return null;
    for (let c = from; c <= to; c++) cores.add(c);
  }
  return cores;
}

/** Formats cores as a `taskset -c` list (`0,2,5`). */
export function formatCpuList(cores: readonly number[]): string {
  return cores.join(",");
}

/** The cores this process may run on (`Cpus_allowed_list`); undefined when it cannot be read. */
export function allowedCores(): Set<number> | undefined {
  let status: string;
  try {
    status = Deno.readTextFileSync("/proc/self/status");
  } catch {
    return undefined; // no procfs (not Linux): keep the binding as given
  }
  const line = status.split("\n").find((l) => l.startsWith("Cpus_allowed_list:"));
  if (line === undefined) return undefined;
  return parseCpuList(line.slice("Cpus_allowed_list:".length)) ?? undefined;
}

/** Finds `program` on `PATH`; its absolute path, or null. */
export function findOnPath(program: string, path = Deno.env.get("PATH") ?? ""): string | null {
  for (const dir of path.split(":")) {
    if (dir === "") continue;
    const candidate = `${dir}/${program}`;
    try {
      const info = Deno.statSync(candidate);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return candidate;
    } catch {
      continue; // not in this directory
    }
  }
  return null;
}

/** The argv prefix binding a command to `cores` (`taskset -c 0,1`; taskset stops parsing options at the program name); empty without a binding. */
export function tasksetPrefix(taskset: string, cores: readonly number[] | null): string[] {
  return cores === null ? [] : [taskset, "-c", formatCpuList(cores)];
}
