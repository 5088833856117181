/**
 * `mitosis suites …`: create task suites (from flags or a JSON/TOML file),
 * inspect, list, cancel, close and watch them, and choose their managers.
 */
import type { Command } from "commander";
import type { SuiteInfo, SuiteManagerInfo, SuitesQueryReq } from "../../wire/suites.ts";
import { parseDuration } from "../../config/duration.ts";
import { ClientError } from "../../client/errors.ts";
import { integer, listValues, positiveInteger } from "../args.ts";
import type { CliContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { renderFields, renderTable } from "../output.ts";
import { wantProgress } from "../progress.ts";
import { readSuiteFile, suiteRequest, type SuiteSpecOptions } from "../suite_spec.ts";
import { completedTasks, suiteProgress } from "../suite_progress.ts";

interface ListOptions {
  group?: string;
  state?: string;
  tags?: string[];
  limit?: number;
  offset?: number;
  count?: boolean;
}

/** A list as `a, b`, or `-`. */
const list = (items: readonly string[]) => (items.length === 0 ? "-" : items.join(", "));

const progressOf = (s: SuiteInfo) => `${completedTasks(s)}/${s.total_tasks}`;

function hookText(hook: SuiteInfo["env_preparation"]): string {
  return hook === null ? "-" : `${hook.args.join(" ")} (timeout ${hook.timeout})`;
}

function scheduleText(s: SuiteInfo): [string, string][] {
  const ws = s.worker_schedule;
  const cpu = ws.cpu_binding ? `${ws.cpu_binding.cores.join(",")} ${ws.cpu_binding.strategy}` : "-";
  const gpu = ws.gpu_binding ? `${ws.gpu_binding.gpus.join(",")}, ${ws.gpu_binding.per_worker} per worker` : "-";
  return [
    ["Workers", `${ws.worker_count} per manager, prefetch ${ws.task_prefetch_count}`],
    ["CPU binding", cpu],
    ["GPU binding", gpu],
  ];
}

function renderManagers(managers: readonly SuiteManagerInfo[]): string {
  if (managers.length === 0) return "Managers: (none)";
  const rows = managers.map((m) => [
    m.manager_uuid,
    m.selection_type,
    m.working ? "yes" : "no",
    list(m.matched_tags),
    m.prepare_error ?? "-",
  ]);
  return `Managers:\n${
    renderTable(["manager", "selection", "working", "matched tags", "prepare error"], rows)
      .replace(/^/gm, "  ")
  }`;
}

/** One suite with every field (`suites get`). */
export function renderSuite(s: SuiteInfo): string {
  const fields: [string, string][] = [
    ["Suite", s.uuid],
    ["Name", s.name ?? "-"],
    ["Description", s.description ?? "-"],
    ["Group", s.group_name],
    ["Creator", s.creator_username],
    ["State", s.state_name],
    ["Tasks", `${progressOf(s)} done, ${s.pending_tasks} pending`],
    ["Priority", String(s.priority)],
    ["Tags", list(s.tags)],
    ["Labels", list(s.labels)],
    ...scheduleText(s),
    ["Preparation", hookText(s.env_preparation)],
    ["Cleanup", hookText(s.env_cleanup)],
    ["Created", s.created_at],
    ["Updated", s.updated_at],
    ["Last task", s.last_task_submitted_at ?? "-"],
    ["Completed", s.completed_at ?? "-"],
  ];
  return `${renderFields(fields)}\n${renderManagers(s.assigned_managers)}`;
}

/** Suites as a table (`suites list`). */
export function renderSuiteList(suites: readonly SuiteInfo[]): string {
  if (suites.length === 0) return "(no suites)";
  const rows = suites.map((s) => [
    s.uuid,
    s.name ?? "-",
    s.state_name,
    progressOf(s),
    String(s.priority),
    list(s.tags),
    s.created_at,
  ]);
  return renderTable(["suite", "name", "state", "done", "priority", "tags", "created"], rows);
}

/** Registers the `suites` command group. */
export function registerSuiteCommands(program: Command, ctx: CliContext): void {
  const suites = program.command("suites").description("task suites: create, inspect, cancel, close, watch");
  registerCreate(suites, ctx);
  registerInspect(suites, ctx);
  registerLifecycle(suites, ctx);
  registerWatch(suites, ctx);
  registerManagers(suites, ctx);
}

function registerCreate(suites: Command, ctx: CliContext): void {
  suites
    .command("create")
    .description("create a suite from flags and/or a JSON or TOML file (flags win); prints its uuid")
    .option("-f, --file <path>", "suite file (.toml, else JSON) with the POST /suites fields")
    .option("-g, --group <group>", "group of the suite (default: the file's, else your own group)")
    .option("--name <name>", "suite name")
    .option("--description <text>", "suite description")
    .option("-t, --tags <tags...>", "tags: only managers having all of them run the suite")
    .option("-l, --labels <labels...>", "labels")
    .option("-p, --priority <n>", "priority, higher runs first (default 0)", integer)
    .option("--workers <n>", "workers per manager, 1-256 (worker_count)", positiveInteger)
    .option("--prefetch <n>", "tasks each manager keeps prefetched (default 16)", positiveInteger)
    .option("--cpus <cores>", "CPU cores to bind workers to, e.g. 0,1,2,3")
    .option("--cpu-strategy <strategy>", "RoundRobin, Exclusive or Shared (default RoundRobin)")
    .option("--gpus <gpus>", "GPUs to share out among workers, e.g. 0,1")
    .option("--gpus-per-worker <n>", "GPUs per worker (default 1)", positiveInteger)
    .option("--prep <command>", 'setup hook run once per manager, e.g. "sh setup.sh --fast"')
    .option("--prep-timeout <duration>", "setup hook timeout (default 10m)")
    .option("--cleanup <command>", "cleanup hook run once per manager at the end")
    .option("--cleanup-timeout <duration>", "cleanup hook timeout (default 10m)")
    .action(async (opts: SuiteSpecOptions) => {
      const file = opts.file === undefined ? {} : await readSuiteFile(opts.file);
      const { client, username } = await ctx.authenticated();
      const uuid = await client.suites.create(suiteRequest(file, opts, username));
      ctx.output().result({ uuid }, () => uuid);
    });
}

function registerInspect(suites: Command, ctx: CliContext): void {
  suites
    .command("get")
    .description("show a suite with its counters and managers")
    .argument("<uuid>", "suite uuid")
    .action(async (uuid: string) => {
      const { client } = await ctx.authenticated();
      const suite = await client.suites.get(uuid);
      ctx.output().result(suite, () => renderSuite(suite));
    });

  suites
    .command("list")
    .description("list the suites of a group, oldest first")
    .option("-g, --group <group>", "group (default: your own group)")
    .option("-s, --state <state>", "only suites in this state: Open, Closed, Complete, Cancelled")
    .option("-t, --tags <tags...>", "only suites having all these tags")
    .option("--limit <n>", "at most this many suites", integer)
    .option("--offset <n>", "skip this many suites", integer)
    .option("--count", "only count the matching suites")
    .action(async (opts: ListOptions) => {
      const req: SuitesQueryReq = { count: opts.count === true };
      const tags = listValues(opts.tags);
      if (opts.group !== undefined) req.group_name = opts.group;
      if (opts.state !== undefined) req.state = opts.state;
      if (tags) req.tags = tags;
      if (opts.limit !== undefined) req.limit = opts.limit;
      if (opts.offset !== undefined) req.offset = opts.offset;
      const { client } = await ctx.authenticated();
      const resp = await client.suites.query(req);
      ctx.output().result(resp, () => (opts.count === true ? String(resp.count) : renderSuiteList(resp.suites)));
    });
}

function registerLifecycle(suites: Command, ctx: CliContext): void {
  suites
    .command("cancel")
    .description("cancel a suite: its waiting tasks are cancelled, running ones finish unless --force")
    .argument("<uuid>", "suite uuid")
    .option("--reason <text>", "reason passed on to the managers")
    .option("-f, --force", "also stop the suite's running tasks (cancel_running_tasks)")
    .action(async (uuid: string, opts: { reason?: string; force?: boolean }) => {
      const { client } = await ctx.authenticated();
      const resp = await client.suites.cancel(uuid, {
        reason: opts.reason ?? null,
        cancel_running_tasks: opts.force === true,
      });
      ctx.output().result(resp, () => {
        const running = resp.running_tasks === 0
          ? "none running"
          : `${resp.running_tasks} running ${opts.force === true ? "being stopped" : "left to finish"}`;
        return `Suite ${uuid} cancelled: ${resp.cancelled_tasks} waiting task(s) cancelled, ${running}`;
      });
    });

  suites
    .command("close")
    .description("close an Open suite (it completes once its tasks are done; a new task reopens it)")
    .argument("<uuid>", "suite uuid")
    .action(async (uuid: string) => {
      const { client } = await ctx.authenticated();
      const suite = await client.suites.close(uuid);
      ctx.output().result(suite, () => `Suite ${uuid} is ${suite.state_name}`);
    });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function registerWatch(suites: Command, ctx: CliContext): void {
  suites
    .command("watch")
    .description("show a suite's progress until it is Complete (exit 0) or Cancelled (exit 1)")
    .argument("<uuid>", "suite uuid")
    .option("--interval <duration>", "time between polls, e.g. 500ms, 2s", "1s")
    .action(async (uuid: string, opts: { interval: string }) => {
      const interval = parseDuration(opts.interval);
      if (interval === null || interval <= 0) throw new CliError(`--interval: "${opts.interval}" is not a duration`);
      const { client } = await ctx.authenticated();
      const output = ctx.output();
      const progress = suiteProgress(uuid, wantProgress(output.json), ctx.io.stderr);
      let suite: SuiteInfo;
      try {
        for (;;) {
          try {
            suite = await client.suites.get(uuid);
          } catch (error) {
            // The coordinator unreachable or restarting: keep watching; any answer it gives is final.
            if (!(error instanceof ClientError) || (error.status !== 0 && error.status < 500)) throw error;
            ctx.io.stderr(`warning: ${error.message}; retrying\n`);
            await sleep(interval);
            continue;
          }
          progress.update(suite);
          if (suite.state_name === "Complete" || suite.state_name === "Cancelled") break;
          await sleep(interval);
        }
      } finally {
        progress.stop();
      }
      output.result(suite, () => `Suite ${uuid} is ${suite.state_name}: ${progressOf(suite)} tasks done`);
      if (suite.state_name === "Cancelled") throw new CliError(`suite ${uuid} was cancelled`);
    });
}

function registerManagers(suites: Command, ctx: CliContext): void {
  const managers = suites.command("managers").description("the node managers that may run a suite");
  managers
    .command("refresh")
    .description("re-match managers by tags (suite tags ⊆ manager tags, group Write on the manager)")
    .argument("<uuid>", "suite uuid")
    .action(async (uuid: string) => {
      const { client } = await ctx.authenticated();
      const matched = await client.suites.refreshManagers(uuid);
      ctx.output().result(
        { matched },
        () => matched.length === 0 ? "No manager matches" : `Matched:\n${matched.map((m) => `  ${m}`).join("\n")}`,
      );
    });

  managers
    .command("add")
    .description("let only these managers (and other user-specified ones) run the suite")
    .argument("<uuid>", "suite uuid")
    .argument("<managers...>", "manager uuids (also comma-separated)")
    .action(async (uuid: string, managerArgs: string[]) => {
      const { client } = await ctx.authenticated();
      const resp = await client.suites.addManagers(uuid, listValues(managerArgs) ?? []);
      ctx.output().result(resp, () => {
        const lines = [`Added ${resp.added.length} manager(s)`, ...resp.added.map((m) => `  ${m}`)];
        if (resp.rejected.length > 0) {
          lines.push("Rejected:", ...resp.rejected.map((r) => `  ${r.manager_uuid}: ${r.reason}`));
        }
        return lines.join("\n");
      });
      if (resp.rejected.length > 0) {
        throw new CliError(`${resp.rejected.length} of ${resp.added.length + resp.rejected.length} rejected`);
      }
    });

  managers
    .command("remove")
    .description("unlink managers from the suite (one working on it is released)")
    .argument("<uuid>", "suite uuid")
    .argument("<managers...>", "manager uuids (also comma-separated)")
    .action(async (uuid: string, managerArgs: string[]) => {
      const { client } = await ctx.authenticated();
      const removed = await client.suites.removeManagers(uuid, listValues(managerArgs) ?? []);
      ctx.output().result({ removed }, () => `Removed ${removed.length} manager(s)`);
    });
}
