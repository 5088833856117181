/** `mitosis tasks …`: submit, inspect, query, change and cancel tasks (artifacts in `artifacts.ts`). */
import type { Command } from "commander";
import type { ChangeTaskReq, SubmitTaskReq } from "../../wire/tasks.ts";
import { integer, listValues } from "../args.ts";
import type { CliContext } from "../context.ts";
import { CliError } from "../errors.ts";
import {
  addTaskFilterOptions,
  addTaskSpecOptions,
  hasSpecOptions,
  taskFilter,
  type TaskFilterOptions,
  taskSpec,
  type TaskSpecOptions,
} from "../task_options.ts";
import { registerArtifactCommands } from "./artifacts.ts";
import { renderTask, renderTaskList } from "./task_views.ts";

interface SubmitOptions extends TaskSpecOptions {
  group?: string;
  tags?: string[];
  labels?: string[];
  timeout?: string;
  priority?: number;
  suite?: string;
}

/** An item of a submit-many file: a submission whose group may be left out (then it is yours). */
type Submission = Omit<SubmitTaskReq, "group_name"> & { group_name?: string };

interface QueryOptions extends TaskFilterOptions {
  limit?: number;
  offset?: number;
  count?: boolean;
  verbose?: boolean;
}

interface ChangeOptions extends TaskSpecOptions {
  tags?: string[];
  timeout?: string;
  priority?: number;
}

/** Registers the `tasks` command group. */
export function registerTaskCommands(program: Command, ctx: CliContext): void {
  const tasks = program.command("tasks").description("tasks: submit, query, change, cancel; their artifacts");
  registerSubmit(tasks, ctx);
  registerInspect(tasks, ctx);
  registerCancel(tasks, ctx);
  registerChange(tasks, ctx);
  registerArtifactCommands(tasks, ctx);
}

function registerSubmit(tasks: Command, ctx: CliContext): void {
  addTaskSpecOptions(
    tasks
      .command("submit")
      .description("submit a task: mitosis tasks submit [options] -- <command...>; prints its uuid")
      .argument("[command...]", "the program to run and its arguments (after --)")
      .option("-g, --group <group>", "group to submit to (default: your own group)")
      .option("-t, --tags <tags...>", "tags: only workers having all of them run the task")
      .option("-l, --labels <labels...>", "labels, for your queries")
      .option("--timeout <duration>", "how long the task may run, e.g. 90s, 10m, 2h (default 10m)")
      .option("-p, --priority <n>", "priority, higher runs first (default 0)", integer),
  )
    .option("--suite <uuid>", "submit into this task suite")
    .action(async (command: string[], opts: SubmitOptions) => {
      const spec = taskSpec(command, opts);
      const { client, username } = await ctx.authenticated();
      const req: SubmitTaskReq = {
        group_name: opts.group ?? username,
        tags: listValues(opts.tags) ?? [],
        labels: listValues(opts.labels) ?? [],
        task_spec: spec,
      };
      if (opts.timeout !== undefined) req.timeout = opts.timeout;
      if (opts.priority !== undefined) req.priority = opts.priority;
      if (opts.suite !== undefined) req.suite_uuid = opts.suite;
      const resp = await client.tasks.submit(req);
      ctx.output().result(resp, () => resp.uuid);
    });

  tasks
    .command("submit-many")
    .description("submit the tasks of a JSON file (an array of task submissions); one line per task")
    .requiredOption("-f, --file <path>", "JSON file: [{group_name?, tags?, labels?, timeout?, priority?, task_spec}]")
    .action(async (opts: { file: string }) => {
      const items = await readSubmissions(opts.file);
      const { client, username } = await ctx.authenticated();
      const results = await client.tasks.submitMany(
        items.map((item) => ({ ...item, group_name: item.group_name ?? username })),
      );
      ctx.output().result(
        { results },
        () => results.map((r, i) => "Ok" in r ? `${i}: ${r.Ok.uuid}` : `${i}: error: ${r.Err.msg}`).join("\n"),
      );
      const failed = results.filter((r) => "Err" in r).length;
      if (failed > 0) throw new CliError(`${failed} of ${results.length} tasks were not submitted`);
    });
}

/** Reads a JSON array of submissions; the coordinator validates each item (a missing group means yours). */
async function readSubmissions(path: string): Promise<Submission[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    throw new CliError(`cannot read tasks from ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new CliError(`${path} must hold a non-empty JSON array of tasks`);
  }
  if (!parsed.every((item) => typeof item === "object" && item !== null && !Array.isArray(item))) {
    throw new CliError(`${path}: every task must be a JSON object`);
  }
  // Shape checked by the coordinator, item by item, with per-item errors.
  return parsed as Submission[];
}

function registerInspect(tasks: Command, ctx: CliContext): void {
  tasks
    .command("get")
    .description("show a task and its artifacts")
    .argument("<uuid>", "task uuid")
    .action(async (uuid: string) => {
      const { client } = await ctx.authenticated();
      const resp = await client.tasks.get(uuid);
      ctx.output().result(resp, () => renderTask(resp));
    });

  addTaskFilterOptions(tasks.command("query").description("list tasks matching the filters (active and archived)"))
    .option("--limit <n>", "at most this many tasks", integer)
    .option("--offset <n>", "skip this many tasks", integer)
    .option("--count", "only count the matching tasks")
    .option("-v, --verbose", "show every field of each task")
    .action(async (opts: QueryOptions) => {
      const req = { ...taskFilter(opts), limit: opts.limit, offset: opts.offset, count: opts.count === true };
      const { client } = await ctx.authenticated();
      const resp = await client.tasks.query(req);
      ctx.output().result(resp, () => {
        if (opts.count === true) return String(resp.count);
        if (resp.tasks.length === 0) return `(no tasks in group ${resp.group_name})`;
        return `${
          renderTaskList(resp.tasks, opts.verbose === true)
        }\n${resp.tasks.length} task(s) in group ${resp.group_name}`;
      });
    });
}

function registerCancel(tasks: Command, ctx: CliContext): void {
  tasks
    .command("cancel")
    .description("cancel a Ready task")
    .argument("<uuid>", "task uuid")
    .action(async (uuid: string) => {
      const { client } = await ctx.authenticated();
      await client.tasks.cancel(uuid);
      ctx.output().done(`Task ${uuid} cancelled`);
    });

  addTaskFilterOptions(tasks.command("cancel-many").description("cancel the Ready tasks matching the filters"))
    .action(async (opts: TaskFilterOptions) => {
      const filter = taskFilter(opts);
      const { client } = await ctx.authenticated();
      const resp = await client.tasks.cancelByFilter(filter);
      ctx.output().result(resp, () => `Cancelled ${resp.cancelled_count} task(s) in group ${resp.group_name}`);
    });

  tasks
    .command("cancel-list")
    .description("cancel tasks by uuid")
    .argument("<uuids...>", "task uuids (also comma-separated)")
    .action(async (uuidArgs: string[]) => {
      const uuids = listValues(uuidArgs) ?? [];
      const { client } = await ctx.authenticated();
      const resp = await client.tasks.cancelByUuids(uuids);
      ctx.output().result(resp, () => {
        const summary = `Cancelled ${resp.cancelled_count} of ${uuids.length} task(s)`;
        if (resp.failed_uuids.length === 0) return summary;
        return `${summary}\nNot cancelled:\n${resp.failed_uuids.map((u) => `  ${u}`).join("\n")}`;
      });
    });
}

function registerChange(tasks: Command, ctx: CliContext): void {
  tasks
    .command("update-labels")
    .description("replace a task's labels (none clears them)")
    .argument("<uuid>", "task uuid")
    .argument("[labels...]", "the new labels")
    .action(async (uuid: string, labelArgs: string[]) => {
      const labels = listValues(labelArgs) ?? [];
      const { client } = await ctx.authenticated();
      await client.tasks.updateLabels(uuid, labels);
      ctx.output().done(`Labels of task ${uuid}: ${labels.length === 0 ? "(none)" : labels.join(", ")}`);
    });

  addTaskSpecOptions(
    tasks
      .command("change")
      .description("change a Ready task; a command (after --) replaces its whole spec")
      .argument("<uuid>", "task uuid")
      .argument("[command...]", "new command (after --)")
      .option("-t, --tags <tags...>", "new tags")
      .option("--timeout <duration>", "new timeout, e.g. 30m")
      .option("-p, --priority <n>", "new priority", integer),
  ).action(async (uuid: string, command: string[], opts: ChangeOptions) => {
    const req: ChangeTaskReq = {};
    const tags = listValues(opts.tags);
    if (tags) req.tags = tags;
    if (opts.timeout !== undefined) req.timeout = opts.timeout;
    if (opts.priority !== undefined) req.priority = opts.priority;
    if (command.length > 0) req.task_spec = taskSpec(command, opts);
    else if (hasSpecOptions(opts)) {
      throw new CliError(
        "--envs, --resources, --terminal and --watch change the spec: give the command too (after --)",
      );
    }
    if (Object.keys(req).length === 0) {
      throw new CliError("nothing to change: give --tags, --timeout, --priority or a command");
    }
    const { client } = await ctx.authenticated();
    await client.tasks.change(uuid, req);
    ctx.output().done(`Task ${uuid} changed`);
  });
}
