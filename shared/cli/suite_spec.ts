/**
 * Building a `POST /suites` request on the command line: from a JSON or
 * TOML file (the request's own keys), from flags, or both (flags win).
 */
import { parse as parseToml } from "smol-toml";
import type { CreateSuiteReq } from "../wire/suites.ts";
import { listValues } from "./args.ts";
import { CliError } from "./errors.ts";

/** Flags of `suites create`. */
export interface SuiteSpecOptions {
  file?: string;
  group?: string;
  name?: string;
  description?: string;
  tags?: string[];
  labels?: string[];
  priority?: number;
  workers?: number;
  prefetch?: number;
  cpus?: string;
  cpuStrategy?: string;
  gpus?: string;
  gpusPerWorker?: number;
  prep?: string;
  prepTimeout?: string;
  cleanup?: string;
  cleanupTimeout?: string;
}

/** A JSON object as parsed from a file. */
type Fields = Record<string, unknown>;

const isObject = (v: unknown): v is Fields => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Splits a command line into words: blanks separate words, single quotes
 * keep text as is, double quotes keep blanks and allow `\"` and `\\`, and a
 * backslash outside quotes escapes the next character. No shell expansion.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new CliError(`unterminated ' in command "${line}"`);
      word += line.slice(i + 1, end);
      i = end;
    } else if (ch === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === "\\" && (line[j + 1] === '"' || line[j + 1] === "\\")) j++;
        word += line[j];
      }
      if (j >= line.length) throw new CliError(`unterminated " in command "${line}"`);
      i = j;
    } else if (ch === "\\" && i + 1 < line.length) {
      word += line[++i];
    } else {
      word += ch;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Reads a suite file: `.toml` as TOML, anything else as JSON; it must hold one object. */
export async function readSuiteFile(path: string): Promise<Fields> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = /\.toml$/i.test(path) ? parseToml(text) : JSON.parse(text);
  } catch (error) {
    const kind = /\.toml$/i.test(path) ? "TOML" : "JSON";
    throw new CliError(`${path} is not valid ${kind}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isObject(parsed)) throw new CliError(`${path} must hold one suite object`);
  return parsed;
}

function integers(value: string, flag: string): number[] {
  return (listValues([value]) ?? []).map((item) => {
    if (!/^\d+$/.test(item)) throw new CliError(`${flag}: "${item}" is not a core number`);
    return Number(item);
  });
}

/** A hook from a command line and timeout, merged over the file's hook. */
function hook(base: unknown, command: string | undefined, timeout: string | undefined, flag: string): unknown {
  if (command === undefined && timeout === undefined) return base;
  const merged: Fields = isObject(base) ? { ...base } : {};
  if (command !== undefined) {
    const args = splitCommandLine(command);
    if (args.length === 0) throw new CliError(`${flag}: the command is empty`);
    merged.args = args;
  }
  if (timeout !== undefined) merged.timeout = timeout;
  if (merged.args === undefined) throw new CliError(`${flag}-timeout needs a command (${flag} or the file's hook)`);
  return merged;
}

/**
 * The creation request: the file's fields (if any) overridden by the flags;
 * the group defaults to `defaultGroup`. The coordinator validates the result.
 */
export function suiteRequest(file: Fields, opts: SuiteSpecOptions, defaultGroup: string): CreateSuiteReq {
  const req: Fields = { ...file };
  req.group_name = opts.group ?? req.group_name ?? defaultGroup;
  if (opts.name !== undefined) req.name = opts.name;
  if (opts.description !== undefined) req.description = opts.description;
  const tags = listValues(opts.tags);
  const labels = listValues(opts.labels);
  if (tags) req.tags = tags;
  if (labels) req.labels = labels;
  if (opts.priority !== undefined) req.priority = opts.priority;

  const schedule: Fields = isObject(req.worker_schedule) ? { ...req.worker_schedule } : {};
  if (opts.workers !== undefined) schedule.worker_count = opts.workers;
  if (opts.prefetch !== undefined) schedule.task_prefetch_count = opts.prefetch;
  if (opts.cpus !== undefined || opts.cpuStrategy !== undefined) {
    const cpu: Fields = isObject(schedule.cpu_binding) ? { ...schedule.cpu_binding } : {};
    if (opts.cpus !== undefined) cpu.cores = integers(opts.cpus, "--cpus");
    cpu.strategy = opts.cpuStrategy ?? cpu.strategy ?? "RoundRobin";
    if (cpu.cores === undefined) throw new CliError("--cpu-strategy needs --cpus (the cores to bind)");
    schedule.cpu_binding = cpu;
  }
  if (opts.gpus !== undefined || opts.gpusPerWorker !== undefined) {
    const gpu: Fields = isObject(schedule.gpu_binding) ? { ...schedule.gpu_binding } : {};
    if (opts.gpus !== undefined) gpu.gpus = listValues([opts.gpus]) ?? [];
    if (opts.gpusPerWorker !== undefined) gpu.per_worker = opts.gpusPerWorker;
    if (gpu.gpus === undefined) throw new CliError("--gpus-per-worker needs --gpus (the GPUs to share out)");
    schedule.gpu_binding = gpu;
  }
  if (schedule.worker_count === undefined) {
    throw new CliError("give the number of workers per manager with --workers (or worker_schedule.worker_count)");
  }
  req.worker_schedule = schedule;
  req.env_preparation = hook(req.env_preparation, opts.prep, opts.prepTimeout, "--prep");
  req.env_cleanup = hook(req.env_cleanup, opts.cleanup, opts.cleanupTimeout, "--cleanup");
  // Shape and values are checked by the coordinator, which names every bad field.
  return req as CreateSuiteReq;
}
