/**
 * Parsers of command-line values shared by the task, artifact, attachment
 * and worker commands: comma-separated lists, integers, `K=V` pairs,
 * artifact kinds, states and roles.
 */
import { InvalidArgumentError } from "commander";
import { type GroupWorkerRole, GroupWorkerRoleSchema } from "../wire/common.ts";
import { type ArtifactContentType, ArtifactContentTypeSchema, TASK_STATES, type TaskState } from "../wire/tasks.ts";
import { CliError } from "./errors.ts";

/**
 * Values of a repeatable, variadic list option, also split on commas
 * (`-t a b`, `-t a,b` and `-t a -t b` all give `[a, b]`); `undefined` when
 * none were given, so filters stay unset rather than empty.
 */
export function listValues(values: readonly string[] | undefined): string[] | undefined {
  const items = (values ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
  return items.length === 0 ? undefined : items;
}

/** Commander argument parser for integers (`--limit 10`, `-p -5`). */
export function integer(value: string): number {
  const n = Number(value);
  if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`"${value}" is not an integer`);
  }
  return n;
}

/** Commander argument parser for counts of at least one (`--concurrent 4`). */
export function positiveInteger(value: string): number {
  const n = integer(value);
  if (n < 1) throw new InvalidArgumentError(`"${value}" must be at least 1`);
  return n;
}

/** Parses `K=V` items (each may hold several, comma-separated) into an environment map. */
export function parseEnvs(values: readonly string[] | undefined): Record<string, string> {
  const envs: Record<string, string> = {};
  for (const item of listValues(values) ?? []) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new CliError(`invalid KEY=value: no "=" after a key in "${item}"`);
    envs[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return envs;
}

/** An artifact kind: `result`, `exec-log` or `std-log` (also `exec`, `std`, `terminal`, any case). */
export function parseContentType(value: string): ArtifactContentType {
  const parsed = ArtifactContentTypeSchema.safeParse(value);
  if (!parsed.success) throw new CliError(`"${value}" is not an artifact type: result, exec-log or std-log`);
  return parsed.data;
}

/** Task states, any letter case (`ready,Running`). */
export function parseStates(values: readonly string[] | undefined): TaskState[] | undefined {
  return listValues(values)?.map((value) => {
    const state = TASK_STATES.find((s) => s.toLowerCase() === value.toLowerCase());
    if (state === undefined) throw new CliError(`"${value}" is not a task state: ${TASK_STATES.join(", ")}`);
    return state;
  });
}

/** Group roles on workers, any letter case (`read,write`). */
export function parseRoles(values: readonly string[] | undefined): GroupWorkerRole[] | undefined {
  return listValues(values)?.map((value) => parseRole(value, value));
}

/** Parses `group:role` items into `{group: Role}` (role Read, Write or Admin, any case). */
export function parseGroupRoles(items: readonly string[]): Record<string, GroupWorkerRole> {
  const relations: Record<string, GroupWorkerRole> = {};
  for (const item of items) {
    const colon = item.lastIndexOf(":");
    if (colon <= 0) throw new CliError(`"${item}" is not group:role (role: read, write or admin)`);
    relations[item.slice(0, colon)] = parseRole(item.slice(colon + 1), item);
  }
  return relations;
}

function parseRole(value: string, item: string): GroupWorkerRole {
  const parsed = GroupWorkerRoleSchema.safeParse(value);
  if (!parsed.success) throw new CliError(`"${item}": role must be read, write or admin`);
  return parsed.data;
}
