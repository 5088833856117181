/** `mitosis groups …`: create groups, show them, manage members. */
import type { Command } from "commander";
import type { GroupQueryInfo } from "../../wire/groups.ts";
import type { CliContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { formatBytes, renderFields, renderTable } from "../output.ts";
import { registerAttachmentCommands } from "./attachments.ts";

/** Parses `user:role` arguments into the relations of `PUT /groups/{g}/users`. */
export function parseRelations(items: readonly string[]): Record<string, string> {
  const relations: Record<string, string> = {};
  for (const item of items) {
    const colon = item.lastIndexOf(":");
    const user = item.slice(0, colon);
    const role = item.slice(colon + 1);
    if (colon <= 0 || role === "") throw new CliError(`"${item}" is not user:role (role: read, write or admin)`);
    relations[user] = role;
  }
  return relations;
}

/** Human rendering of a group's details. */
export function renderGroup(group: GroupQueryInfo): string {
  const details = renderFields([
    ["Group", group.group_name],
    ["State", group.state],
    ["Creator", group.creator_username],
    ["Created", group.created_at],
    ["Updated", group.updated_at],
    ["Tasks", String(group.task_count)],
    ["Workers", String(group.worker_count)],
    ["Storage", `${formatBytes(group.storage_used)} used of ${formatBytes(group.storage_quota)}`],
  ]);
  if (group.users_in_group === null) return `${details}\nMembers: (shown to group admins only)`;
  const rows = Object.entries(group.users_in_group).sort(([a], [b]) => a.localeCompare(b));
  return `${details}\nMembers:\n${renderTable(["user", "role"], rows).replace(/^/gm, "  ")}`;
}

/** Registers the `groups` command group. */
export function registerGroupCommands(program: Command, ctx: CliContext): void {
  const groups = program.command("groups").description("groups: create, inspect, manage members");

  groups
    .command("create")
    .description("create a group with you as its Admin")
    .argument("<group>", "group name")
    .action(async (group: string) => {
      const { client } = await ctx.authenticated();
      await client.createGroup(group);
      ctx.output().done(`Group ${group} created`);
    });

  groups
    .command("get")
    .description("show a group (members are shown to its Admins)")
    .argument("<group>", "group name")
    .action(async (group: string) => {
      const { client } = await ctx.authenticated();
      const info = await client.getGroup(group);
      ctx.output().result(info, () => renderGroup(info));
    });

  groups
    .command("update-user")
    .description("add users to a group or change their roles (group Admins only)")
    .argument("<group>", "group name")
    .argument("<relations...>", "user:role pairs, role one of read, write, admin")
    .action(async (group: string, items: string[]) => {
      const relations = parseRelations(items);
      const { client } = await ctx.authenticated();
      await client.updateUserGroup(group, relations);
      const summary = Object.entries(relations).map(([user, role]) => `${user}=${role}`).join(", ");
      ctx.output().done(`Group ${group}: set ${summary}`);
    });

  groups
    .command("remove-user")
    .description("remove users from a group (group Admins only)")
    .argument("<group>", "group name")
    .argument("<users...>", "users to remove")
    .action(async (group: string, users: string[]) => {
      const { client } = await ctx.authenticated();
      await client.removeUserGroup(group, users);
      ctx.output().done(`Group ${group}: removed ${users.join(", ")}`);
    });

  registerAttachmentCommands(groups, ctx);
}
