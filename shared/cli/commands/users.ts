/** `mitosis users …`: the caller's own account. */
import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { renderTable } from "../output.ts";

/** Registers the `users` command group. */
export function registerUserCommands(program: Command, ctx: CliContext): void {
  const users = program.command("users").description("your account: password and groups");

  users
    .command("change-password")
    .description("change your password (prompting for what is missing); the new token is cached")
    .argument("[old]", "current password")
    .argument("[new]", "new password")
    .action(async (oldPassword: string | undefined, newPassword: string | undefined) => {
      const { client, username } = await ctx.authenticated();
      const prompter = ctx.io.prompter;
      const old = oldPassword ?? await prompter.secret(`Current password for ${username}: `);
      const fresh = newPassword ?? await prompter.secret(`New password for ${username}: `);
      const token = await client.changePassword(username, old, fresh);
      await ctx.session().remember(username, token);
      ctx.output().result({ token }, () => `Password of ${username} changed`);
    });

  users
    .command("groups")
    .description("list the groups you belong to and your role in each")
    .action(async () => {
      const { client } = await ctx.authenticated();
      const resp = await client.userGroups();
      const rows = Object.entries(resp.groups).sort(([a], [b]) => a.localeCompare(b));
      ctx.output().result(resp, () => rows.length === 0 ? "(no groups)" : renderTable(["group", "role"], rows));
    });
}
