/**
 * Options shared by several task commands: the task filters (`query`,
 * `cancel-many`, artifact `download-many`/`delete-many`) and the pieces of
 * a task spec (`submit`, `change`).
 */
import type { Command } from "commander";
import type { z } from "zod";
import type { TaskFilterInput } from "../client/tasks_api.ts";
import {
  type RemoteResourceDownloadSchema,
  TASK_EXEC_STATES,
  type TaskExecState,
  type TaskSpecSchema,
} from "../wire/tasks.ts";
import { listValues, parseContentType, parseEnvs, parseStates } from "./args.ts";
import { CliError } from "./errors.ts";

/** Parsed task filter options. */
export interface TaskFilterOptions {
  creators?: string[];
  group?: string;
  tags?: string[];
  labels?: string[];
  state?: string[];
  exitStatus?: string;
  priority?: string;
  reporterUuid?: string;
}

/** Adds the task filter options (as in `mito client tasks query`) to `command`. */
export function addTaskFilterOptions(command: Command): Command {
  return command
    .option("-c, --creators <users...>", "creators' usernames (repeat or separate with commas)")
    .option("-g, --group <group>", "group of the tasks (default: your own group)")
    .option("-t, --tags <tags...>", "tasks having all these tags")
    .option("-l, --labels <labels...>", "tasks having all these labels")
    .option("-s, --state <states...>", "states: Pending, Ready, Running, Finished, Cancelled, Unknown")
    .option("-e, --exit-status <cmp>", 'exit status (raw wait status) comparison: "= 0", "!= 0", ">= 256"')
    .option("-p, --priority <cmp>", 'priority comparison: "5", "> 0", "<= -1"')
    .option("--reporter-uuid <uuid>", "tasks committed by this worker");
}

/** The request filters of the given options; unset options are left out. */
export function taskFilter(opts: TaskFilterOptions): TaskFilterInput {
  const filter: TaskFilterInput = {};
  const creators = listValues(opts.creators);
  const tags = listValues(opts.tags);
  const labels = listValues(opts.labels);
  const states = parseStates(opts.state);
  if (creators) filter.creator_usernames = creators;
  if (opts.group !== undefined) filter.group_name = opts.group;
  if (tags) filter.tags = tags;
  if (labels) filter.labels = labels;
  if (states) filter.states = states;
  if (opts.exitStatus !== undefined) filter.exit_status = opts.exitStatus;
  if (opts.priority !== undefined) filter.priority = opts.priority;
  if (opts.reporterUuid !== undefined) filter.reporter_uuid = opts.reporterUuid;
  return filter;
}

/** Parsed task spec options. */
export interface TaskSpecOptions {
  envs?: string[];
  resources?: string[];
  terminal?: boolean;
  watch?: string;
}

/** Adds the spec options (environment, resources, terminal capture, watch) to `command`. */
export function addTaskSpecOptions(command: Command): Command {
  return command
    .option("-e, --envs <K=V...>", "environment variables (repeat or separate with commas)")
    .option(
      "-r, --resources <spec...>",
      "files fetched before the task runs: artifact=<uuid>:<type>:<path> or attachment=<key>:<path>",
    )
    .option("--terminal", "capture the task's stdout and stderr (std-log artifact)")
    .option("--watch <UUID,STATE>", "start only once that task reaches that state, e.g. <uuid>,ExecSpawned");
}

/** Whether any spec option was given. */
export function hasSpecOptions(opts: TaskSpecOptions): boolean {
  return opts.envs !== undefined || opts.resources !== undefined || opts.terminal === true ||
    opts.watch !== undefined;
}

/** A task spec from the command line and the spec options. */
export function taskSpec(args: readonly string[], opts: TaskSpecOptions): z.input<typeof TaskSpecSchema> {
  if (args.length === 0) throw new CliError("no command given: put the command to run after --");
  return {
    args: [...args],
    envs: parseEnvs(opts.envs),
    resources: (listValues(opts.resources) ?? []).map(parseResource),
    terminal_output: opts.terminal === true,
    watch: opts.watch === undefined ? null : parseWatch(opts.watch),
  };
}

/** Parses `artifact=<uuid>:<type>:<path>` or `attachment=<key>:<path>`. */
export function parseResource(value: string): z.input<typeof RemoteResourceDownloadSchema> {
  if (value.startsWith("artifact=")) {
    const parts = value.slice("artifact=".length).split(":");
    if (parts.length !== 3) {
      throw new CliError(`"${value}": an artifact resource is artifact=<uuid>:<type>:<local path>`);
    }
    const [uuid, type, localPath] = parts;
    return { remote_file: { Artifact: { uuid, content_type: parseContentType(type) } }, local_path: localPath };
  }
  if (value.startsWith("attachment=")) {
    const parts = value.slice("attachment=".length).split(":");
    if (parts.length !== 2) throw new CliError(`"${value}": an attachment resource is attachment=<key>:<local path>`);
    const [key, localPath] = parts;
    return { remote_file: { Attachment: { key } }, local_path: localPath };
  }
  throw new CliError(`"${value}": a resource starts with artifact= or attachment=`);
}

/** Parses `<uuid>,<TaskExecState>` (state in any letter case). */
export function parseWatch(value: string): [string, TaskExecState] {
  const comma = value.indexOf(",");
  if (comma < 0) throw new CliError(`"${value}": --watch takes <uuid>,<state>, e.g. <uuid>,ExecSpawned`);
  const name = value.slice(comma + 1).trim();
  const state = TASK_EXEC_STATES.find((s) => s.toLowerCase() === name.toLowerCase());
  if (state === undefined) {
    throw new CliError(`"${name}" is not a task execution state (${TASK_EXEC_STATES.join(", ")})`);
  }
  return [value.slice(0, comma).trim(), state];
}
