/**
 * GPU binding of managed workers (SPEC §6, `worker_schedule.gpu_binding`):
 * the `CUDA_VISIBLE_DEVICES` of each worker, drawn from the GPUs this host
 * lets the manager use.
 *
 * **The host's visible GPUs**, first found wins:
 * 1. the manager's own `CUDA_VISIBLE_DEVICES` mask, when set (honoured: workers
 *    only ever get GPUs of the mask; an empty mask, `-1` or `NoDevFiles`
 *    means none);
 * 2. `MITOSIS_GPUS` (comma-separated ids; for tests and hosts without
 *    `nvidia-smi`);
 * 3. `nvidia-smi -L`: every GPU, identified by its UUID (immune to
 *    `CUDA_DEVICE_ORDER`), in nvidia-smi's order.
 *
 * **The suite's `gpus`** name GPUs the way CUDA would inside the manager: a
 * number is an ordinal in the visible list (so with the mask `4,5,6,7`, GPU
 * `0` is physical GPU 4, as CUDA renumbers masked devices); anything else
 * must equal a visible GPU's id (a UUID such as `GPU-…`, `MIG-…`, or a mask
 * entry). Entries that match nothing are dropped with a note.
 *
 * **Per worker**: worker i gets `per_worker` consecutive GPUs of the
 * resolved list starting at `i × per_worker`, wrapping around, so workers
 * share GPUs only when there are more worker slots than GPUs. The value
 * written is the visible id, which the worker's CUDA runtime resolves
 * against the physical devices exactly as the manager's would.
 */
import type { z } from "zod";
import type { GpuBindingSchema } from "../../shared/wire/suites.ts";

/** A suite's GPU binding. */
export type GpuBinding = z.output<typeof GpuBindingSchema>;

/** Where the visible GPU list came from. */
export type GpuSource = "CUDA_VISIBLE_DEVICES" | "MITOSIS_GPUS" | "nvidia-smi" | "none";

/** The GPUs this host lets the manager use. */
export interface HostGpus {
  /** Ids as they go into `CUDA_VISIBLE_DEVICES`, in CUDA ordinal order. */
  ids: string[];
  source: GpuSource;
}

/** The `CUDA_VISIBLE_DEVICES` value of each worker, with adjustments made. */
export interface GpuPlan {
  /** Value for worker i; null = leave the variable as the manager has it (no binding). */
  masks: (string | null)[];
  notes: string[];
}

/** Values of `CUDA_VISIBLE_DEVICES` that hide every GPU. */
const NO_DEVICES = new Set(["", "-1", "NoDevFiles"]);

/** Splits a comma-separated id list, trimming blanks. */
function splitIds(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/**
 * Parses `nvidia-smi -L` output (`GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-…)`)
 * into GPU ids: the UUID when shown, else the index.
 */
export function parseNvidiaSmiList(output: string): string[] {
  const ids: string[] = [];
  for (const line of output.split("\n")) {
    const match = /^GPU (\d+):.*?(?:\(UUID: ([^)]+)\))?\s*$/.exec(line.trim());
    if (match === null) continue;
    ids.push(match[2]?.trim() || match[1]);
  }
  return ids;
}

/**
 * The host's visible GPUs from the environment and, when neither
 * `CUDA_VISIBLE_DEVICES` nor `MITOSIS_GPUS` is set, `nvidiaSmiList` (the
 * output of `nvidia-smi -L`, null when it is not installed or failed).
 */
export function hostGpusFrom(
  env: Readonly<Record<string, string | undefined>>,
  nvidiaSmiList: string | null,
): HostGpus {
  const mask = env.CUDA_VISIBLE_DEVICES;
  if (mask !== undefined) {
    return { ids: NO_DEVICES.has(mask.trim()) ? [] : splitIds(mask), source: "CUDA_VISIBLE_DEVICES" };
  }
  const listed = env.MITOSIS_GPUS;
  if (listed !== undefined) return { ids: splitIds(listed), source: "MITOSIS_GPUS" };
  if (nvidiaSmiList !== null) return { ids: parseNvidiaSmiList(nvidiaSmiList), source: "nvidia-smi" };
  return { ids: [], source: "none" };
}

/** Runs `nvidia-smi -L`; its output, or null when it is missing or fails (within 10 s). */
export async function nvidiaSmiList(): Promise<string | null> {
  try {
    const out = await new Deno.Command("nvidia-smi", {
      args: ["-L"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(10_000),
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : null;
  } catch {
    return null; // not installed (NotFound) or timed out: no GPU list from it
  }
}

/** The host's visible GPUs, from this process's environment and `nvidia-smi` (see the module doc). */
export async function discoverHostGpus(env: Record<string, string> = Deno.env.toObject()): Promise<HostGpus> {
  const needSmi = env.CUDA_VISIBLE_DEVICES === undefined && env.MITOSIS_GPUS === undefined;
  return hostGpusFrom(env, needSmi ? await nvidiaSmiList() : null);
}

/** Resolves the suite's GPU names against the visible ids (see the module doc). */
function resolveGpus(wanted: readonly string[], visible: readonly string[], notes: string[]): string[] {
  const resolved: string[] = [];
  for (const name of wanted) {
    let id: string | undefined;
    if (/^\d+$/.test(name)) {
      id = visible[Number(name)];
      if (id === undefined) notes.push(`GPU ${name} is out of range (${visible.length} visible); ignored`);
    } else {
      id = visible.find((v) => v === name);
      if (id === undefined) notes.push(`GPU ${name} is not visible to this manager; ignored`);
    }
    if (id !== undefined && !resolved.includes(id)) resolved.push(id);
  }
  return resolved;
}

/**
 * Computes `CUDA_VISIBLE_DEVICES` for each of `workerCount` workers. Without
 * a binding every mask is null (workers inherit the manager's environment).
 * With a binding whose GPUs are not visible here, workers get an empty mask
 * (no GPU) rather than every GPU of the host.
 *
 * @example
 * gpuPlan({ gpus: ["0", "1"], per_worker: 1 }, ["4", "5", "6"], 3).masks // ["4", "5", "4"]
 */
export function gpuPlan(
  binding: GpuBinding | null | undefined,
  visible: readonly string[],
  workerCount: number,
): GpuPlan {
  const notes: string[] = [];
  if (binding === null || binding === undefined) return { masks: Array(workerCount).fill(null), notes };
  const gpus = resolveGpus(binding.gpus, visible, notes);
  if (gpus.length === 0) {
    notes.push("no GPU of the binding is visible to this manager; workers get no GPU");
    return { masks: Array(workerCount).fill(""), notes };
  }
  const perWorker = Math.max(1, binding.per_worker);
  if (perWorker > gpus.length) {
    notes.push(`per_worker is ${perWorker} but only ${gpus.length} GPUs are bound; each worker gets all of them`);
  }
  const take = Math.min(perWorker, gpus.length);
  const masks: string[] = [];
  for (let i = 0; i < workerCount; i++) {
    const ids: string[] = [];
    for (let k = 0; k < take; k++) ids.push(gpus[(i * take + k) % gpus.length]);
    masks.push(ids.join(","));
  }
  if (workerCount * take > gpus.length) {
    notes.push(`${workerCount} workers × ${take} GPUs exceed the ${gpus.length} bound GPUs; GPUs are shared`);
  }
  return { masks, notes };
}
