/**
 * `mitosis workers …`: inspect independent workers, change their tags,
 * labels and group roles, shut them down; `mitosis admin workers cancel`.
 */
import type { Command } from "commander";
import type { WorkerShutdownOp } from "../../client/workers_api.ts";
import type { WorkerQueryInfo, WorkerQueryResp, WorkersQueryReq } from "../../wire/workers.ts";
import { listValues, parseGroupRoles, parseRoles } from "../args.ts";
import type { CliContext } from "../context.ts";
import { renderFields, renderTable } from "../output.ts";

interface FilterOptions {
  group?: string;
  role?: string[];
  tags?: string[];
  labels?: string[];
  creator?: string;
}

/** A list as `a, b`, or `-`. */
const list = (items: readonly string[]) => (items.length === 0 ? "-" : items.join(", "));

const FORCE_FLAGS = "-f, --force";
const FORCE_HELP = "stop at once instead of after the current task";

const opOf = (opts: { force?: boolean }): WorkerShutdownOp => (opts.force === true ? "Force" : "Graceful");

function addFilterOptions(command: Command): Command {
  return command
    .option("-g, --group <group>", "workers this group has a role on (default: your own group)")
    .option("-r, --role <roles...>", "the group's roles: Read, Write, Admin")
    .option("-t, --tags <tags...>", "workers having all these tags")
    .option("-l, --labels <labels...>", "workers having all these labels")
    .option("--creator <user>", "workers registered by this user");
}

function filterOf(opts: FilterOptions): Omit<WorkersQueryReq, "count"> {
  const filter: Omit<WorkersQueryReq, "count"> = {};
  const roles = parseRoles(opts.role);
  const tags = listValues(opts.tags);
  const labels = listValues(opts.labels);
  if (opts.group !== undefined) filter.group_name = opts.group;
  if (roles) filter.role = roles;
  if (tags) filter.tags = tags;
  if (labels) filter.labels = labels;
  if (opts.creator !== undefined) filter.creator_username = opts.creator;
  return filter;
}

function workerFields(info: WorkerQueryInfo): [string, string][] {
  return [
    ["Worker", info.worker_id],
    ["State", info.state],
    ["Creator", info.creator_username],
    ["Tags", list(info.tags)],
    ["Labels", list(info.labels)],
    ["Task", info.assigned_task_id ?? "-"],
    ["Heartbeat", info.last_heartbeat],
    ["Created", info.created_at],
    ["Updated", info.updated_at],
  ];
}

/** A worker with its groups' roles (`workers get`). */
export function renderWorker(resp: WorkerQueryResp): string {
  const rows = Object.entries(resp.groups).sort(([a], [b]) => a.localeCompare(b));
  const groups = rows.length === 0
    ? "Groups: (none)"
    : `Groups:\n${renderTable(["group", "role"], rows).replace(/^/gm, "  ")}`;
  return `${renderFields(workerFields(resp.info))}\n${groups}`;
}

/** Workers as a table, or with every field when `verbose`. */
export function renderWorkerList(workers: readonly WorkerQueryInfo[], verbose: boolean): string {
  if (workers.length === 0) return "(no workers)";
  if (verbose) return workers.map((w) => renderFields(workerFields(w))).join("\n\n");
  const rows = workers.map((w) => [w.worker_id, w.state, w.creator_username, list(w.tags), w.assigned_task_id ?? "-"]);
  return renderTable(["worker", "state", "creator", "tags", "task"], rows);
}

/** Registers the `workers` command group. */
export function registerWorkerCommands(program: Command, ctx: CliContext): void {
  const workers = program.command("workers").description("workers: inspect, retag, grant groups, shut down");
  registerInspect(workers, ctx);
  registerShutdown(workers, ctx);
  registerUpdates(workers, ctx);
}

function registerInspect(workers: Command, ctx: CliContext): void {
  workers
    .command("get")
    .description("show a worker and its groups' roles")
    .argument("<uuid>", "worker uuid")
    .action(async (uuid: string) => {
      const { client } = await ctx.authenticated();
      const resp = await client.workers.get(uuid);
      ctx.output().result(resp, () => renderWorker(resp));
    });

  addFilterOptions(workers.command("query").description("list workers matching the filters"))
    .option("-v, --verbose", "show every field of each worker")
    .option("--count", "only count the matching workers")
    .action(async (opts: FilterOptions & { verbose?: boolean; count?: boolean }) => {
      const req = { ...filterOf(opts), count: opts.count === true };
      const { client } = await ctx.authenticated();
      const resp = await client.workers.query(req);
      ctx.output().result(resp, () => {
        if (opts.count === true) return String(resp.count);
        if (resp.workers.length === 0) return `(no workers for group ${resp.group_name})`;
        const table = renderWorkerList(resp.workers, opts.verbose === true);
        return `${table}\n${resp.workers.length} worker(s) for group ${resp.group_name}`;
      });
    });
}

function registerShutdown(workers: Command, ctx: CliContext): void {
  workers
    .command("cancel")
    .description("shut a worker down (after its current task unless --force)")
    .argument("<uuid>", "worker uuid")
    .option(FORCE_FLAGS, FORCE_HELP)
    .action(async (uuid: string, opts: { force?: boolean }) => {
      const { client } = await ctx.authenticated();
      await client.workers.shutdown(uuid, opOf(opts));
      ctx.output().done(`Worker ${uuid}: ${opOf(opts).toLowerCase()} shutdown requested`);
    });

  addFilterOptions(workers.command("cancel-many").description("shut down the workers matching the filters"))
    .option(FORCE_FLAGS, FORCE_HELP)
    .action(async (opts: FilterOptions & { force?: boolean }) => {
      const req = { ...filterOf(opts), op: opOf(opts) };
      const { client } = await ctx.authenticated();
      const resp = await client.workers.shutdownByFilter(req);
      ctx.output().result(
        resp,
        () => `Shutdown requested for ${resp.shutdown_count} worker(s) of group ${resp.group_name}`,
      );
    });

  workers
    .command("cancel-list")
    .description("shut down workers by uuid")
    .argument("<uuids...>", "worker uuids (also comma-separated)")
    .option(FORCE_FLAGS, FORCE_HELP)
    .action(async (uuidArgs: string[], opts: { force?: boolean }) => {
      const uuids = listValues(uuidArgs) ?? [];
      const { client } = await ctx.authenticated();
      const resp = await client.workers.shutdownByUuids(uuids, opOf(opts));
      ctx.output().result(resp, () => {
        const summary = `Shutdown requested for ${resp.shutdown_count} of ${uuids.length} worker(s)`;
        if (resp.failed_uuids.length === 0) return summary;
        return `${summary}\nRefused:\n${resp.failed_uuids.map((u) => `  ${u}`).join("\n")}`;
      });
    });
}

function registerUpdates(workers: Command, ctx: CliContext): void {
  workers
    .command("update-tags")
    .description("replace a worker's tags (it only takes tasks whose tags it has)")
    .argument("<uuid>", "worker uuid")
    .argument("[tags...]", "the new tags")
    .action(async (uuid: string, tagArgs: string[]) => {
      const tags = listValues(tagArgs) ?? [];
      const { client } = await ctx.authenticated();
      await client.workers.replaceTags(uuid, tags);
      ctx.output().done(`Tags of worker ${uuid}: ${tags.length === 0 ? "(none)" : tags.join(", ")}`);
    });

  workers
    .command("update-labels")
    .description("replace a worker's labels")
    .argument("<uuid>", "worker uuid")
    .argument("[labels...]", "the new labels")
    .action(async (uuid: string, labelArgs: string[]) => {
      const labels = listValues(labelArgs) ?? [];
      const { client } = await ctx.authenticated();
      await client.workers.replaceLabels(uuid, labels);
      ctx.output().done(`Labels of worker ${uuid}: ${labels.length === 0 ? "(none)" : labels.join(", ")}`);
    });

  workers
    .command("update-roles")
    .description("grant groups roles on a worker")
    .argument("<uuid>", "worker uuid")
    .argument("<relations...>", "group:role pairs, role one of read, write, admin")
    .action(async (uuid: string, items: string[]) => {
      const relations = parseGroupRoles(items);
      const { client } = await ctx.authenticated();
      await client.workers.updateGroups(uuid, relations);
      const summary = Object.entries(relations).map(([g, r]) => `${g}=${r}`).join(", ");
      ctx.output().done(`Worker ${uuid}: set ${summary}`);
    });

  workers
    .command("remove-roles")
    .description("remove groups' roles on a worker")
    .argument("<uuid>", "worker uuid")
    .argument("<groups...>", "groups to remove")
    .action(async (uuid: string, groups: string[]) => {
      const { client } = await ctx.authenticated();
      await client.workers.removeGroups(uuid, groups);
      ctx.output().done(`Worker ${uuid}: removed ${groups.join(", ")}`);
    });
}

/** Registers `admin workers cancel`. */
export function registerAdminWorkerCommands(admin: Command, ctx: CliContext): void {
  admin
    .command("workers")
    .description("any user's workers")
    .command("cancel")
    .description("shut any worker down (after its current task unless --force)")
    .argument("<uuid>", "worker uuid")
    .option(FORCE_FLAGS, FORCE_HELP)
    .action(async (uuid: string, opts: { force?: boolean }) => {
      const { client } = await ctx.authenticated();
      await client.workers.adminShutdown(uuid, opOf(opts));
      ctx.output().done(`Worker ${uuid}: ${opOf(opts).toLowerCase()} shutdown requested`);
    });
}
