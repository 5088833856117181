/**
 * `mitosis managers …`: list and inspect node managers, change their tags,
 * labels and group roles, shut them down.
 */
import type { Command } from "commander";
import type { ManagerShutdownOp } from "../../client/managers_api.ts";
import {
  type ManagerInfo,
  type ManagersQueryReq,
  NODE_MANAGER_STATES,
  type NodeManagerState,
} from "../../wire/managers.ts";
import { listValues, parseGroupRoles } from "../args.ts";
import type { CliContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { renderFields, renderTable } from "../output.ts";

interface ListOptions {
  group?: string;
  state?: string;
  tags?: string[];
  labels?: string[];
  count?: boolean;
  verbose?: boolean;
}

/** A list as `a, b`, or `-`. */
const list = (items: readonly string[]) => (items.length === 0 ? "-" : items.join(", "));

/** A manager state, any letter case (`idle`, `Executing`). */
export function parseManagerState(value: string): NodeManagerState {
  const state = NODE_MANAGER_STATES.find((s) => s.toLowerCase() === value.toLowerCase());
  if (state === undefined) throw new CliError(`"${value}" is not a manager state: ${NODE_MANAGER_STATES.join(", ")}`);
  return state;
}

function queryOf(opts: ListOptions): ManagersQueryReq {
  const req: ManagersQueryReq = { count: opts.count === true };
  const tags = listValues(opts.tags);
  const labels = listValues(opts.labels);
  if (opts.group !== undefined) req.group_name = opts.group;
  if (opts.state !== undefined) req.state = parseManagerState(opts.state);
  if (tags) req.tags = tags;
  if (labels) req.labels = labels;
  return req;
}

function managerFields(info: ManagerInfo): [string, string][] {
  return [
    ["Manager", info.manager_uuid],
    ["State", info.state],
    ["Hostname", info.hostname ?? "-"],
    ["Creator", info.creator_username],
    ["Tags", list(info.tags)],
    ["Labels", list(info.labels)],
    ["Max workers", String(info.max_workers)],
    ["Suite", info.assigned_suite_uuid ?? "-"],
    ["Lease until", info.lease_expires_at ?? "-"],
    ["Heartbeat", info.last_heartbeat],
    ["Created", info.created_at],
    ["Updated", info.updated_at],
  ];
}

/** A manager with its groups' roles (`managers get`). */
export function renderManager(info: ManagerInfo): string {
  const rows = Object.entries(info.groups).sort(([a], [b]) => a.localeCompare(b));
  const groups = rows.length === 0
    ? "Groups: (none)"
    : `Groups:\n${renderTable(["group", "role"], rows).replace(/^/gm, "  ")}`;
  return `${renderFields(managerFields(info))}\n${groups}`;
}

/** Managers as a table, or with every field when `verbose`. */
export function renderManagerList(managers: readonly ManagerInfo[], verbose: boolean): string {
  if (verbose) return managers.map(renderManager).join("\n\n");
  const rows = managers.map((m) => [
    m.manager_uuid,
    m.state,
    m.hostname ?? "-",
    m.creator_username,
    list(m.tags),
    m.assigned_suite_uuid ?? "-",
  ]);
  return renderTable(["manager", "state", "hostname", "creator", "tags", "suite"], rows);
}

/** Registers the `managers` command group (`manager` is its singular alias). */
export function registerManagerCommands(program: Command, ctx: CliContext): void {
  const managers = program.command("managers").description("node managers: inspect, retag, grant groups, shut down");
  registerInspect(managers, ctx);
  registerShutdown(managers, ctx);
  registerUpdates(managers, ctx);
}

function registerInspect(managers: Command, ctx: CliContext): void {
  managers
    .command("list")
    .description("list the managers a group has a role on")
    .option("-g, --group <group>", "managers this group has a role on (default: your own group)")
    .option("-s, --state <state>", `managers in this state: ${NODE_MANAGER_STATES.join(", ")}`)
    .option("-t, --tags <tags...>", "managers having all these tags")
    .option("-l, --labels <labels...>", "managers having all these labels")
    .option("-v, --verbose", "show every field of each manager")
    .option("--count", "only count the matching managers")
    .action(async (opts: ListOptions) => {
      const req = queryOf(opts);
      const { client } = await ctx.authenticated();
      const resp = await client.managers.query(req);
      ctx.output().result(resp, () => {
        if (opts.count === true) return String(resp.count);
        if (resp.managers.length === 0) return `(no managers for group ${resp.group_name})`;
        const table = renderManagerList(resp.managers, opts.verbose === true);
        return `${table}\n${resp.managers.length} manager(s) for group ${resp.group_name}`;
      });
    });

  managers
    .command("get")
    .description("show a manager and its groups' roles")
    .argument("<uuid>", "manager uuid")
    .action(async (uuid: string) => {
      const { client } = await ctx.authenticated();
      const info = await client.managers.get(uuid);
      ctx.output().result(info, () => renderManager(info));
    });
}

function registerShutdown(managers: Command, ctx: CliContext): void {
  managers
    .command("shutdown")
    .description("stop a manager (after its running tasks unless --force)")
    .argument("<uuid>", "manager uuid")
    .option("-f, --force", "stop at once; its tasks go back to Ready for other managers")
    .action(async (uuid: string, opts: { force?: boolean }) => {
      const op: ManagerShutdownOp = opts.force === true ? "Force" : "Graceful";
      const { client } = await ctx.authenticated();
      await client.managers.shutdown(uuid, op);
      ctx.output().done(`Manager ${uuid}: ${op.toLowerCase()} shutdown requested`);
    });
}

function registerUpdates(managers: Command, ctx: CliContext): void {
  managers
    .command("update-tags")
    .description("replace a manager's tags (it serves suites whose tags it has)")
    .argument("<uuid>", "manager uuid")
    .argument("[tags...]", "the new tags")
    .action(async (uuid: string, tagArgs: string[]) => {
      const tags = listValues(tagArgs) ?? [];
      const { client } = await ctx.authenticated();
      await client.managers.replaceTags(uuid, tags);
      ctx.output().done(`Tags of manager ${uuid}: ${tags.length === 0 ? "(none)" : tags.join(", ")}`);
    });

  managers
    .command("update-labels")
    .description("replace a manager's labels")
    .argument("<uuid>", "manager uuid")
    .argument("[labels...]", "the new labels")
    .action(async (uuid: string, labelArgs: string[]) => {
      const labels = listValues(labelArgs) ?? [];
      const { client } = await ctx.authenticated();
      await client.managers.replaceLabels(uuid, labels);
      ctx.output().done(`Labels of manager ${uuid}: ${labels.length === 0 ? "(none)" : labels.join(", ")}`);
    });

  managers
    .command("update-roles")
    .description("grant groups roles on a manager")
    .argument("<uuid>", "manager uuid")
    .argument("<relations...>", "group:role pairs, role one of read, write, admin")
    .action(async (uuid: string, items: string[]) => {
      const relations = parseGroupRoles(items);
      const { client } = await ctx.authenticated();
      await client.managers.updateGroups(uuid, relations);
      const summary = Object.entries(relations).map(([g, r]) => `${g}=${r}`).join(", ");
      ctx.output().done(`Manager ${uuid}: set ${summary}`);
    });

  managers
    .command("remove-roles")
    .description("remove groups' roles on a manager")
    .argument("<uuid>", "manager uuid")
    .argument("<groups...>", "groups to remove (also comma-separated)")
    .action(async (uuid: string, groupArgs: string[]) => {
      const groups = listValues(groupArgs) ?? [];
      const { client } = await ctx.authenticated();
      await client.managers.removeGroups(uuid, groups);
      ctx.output().done(`Manager ${uuid}: removed ${groups.join(", ")}`);
    });
}
