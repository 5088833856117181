/** `mitosis admin …`: user lifecycle, quotas and coordinator shutdown (admins only). */
import type { Command } from "commander";
import { UserStateSchema } from "../../wire/common.ts";
import type { CliContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { formatBytes } from "../output.ts";
import { registerAdminArtifactCommands } from "./artifacts.ts";
import { registerAdminAttachmentCommands } from "./attachments.ts";
import { registerAdminWorkerCommands } from "./workers.ts";

/** Help of the quota arguments. */
const QUOTA_HELP = "change: +N adds, -N subtracts, =N or N sets";

/** Registers the `admin` command group. */
export function registerAdminCommands(program: Command, ctx: CliContext): void {
  const admin = program.command("admin").description("administration (admin users only)");
  const users = admin.command("users").description("manage users");

  users
    .command("create")
    .description("create a user (and its own group); prompts for what is missing")
    .argument("[username]", "new user's name")
    .argument("[password]", "new user's password")
    .option("--admin", "make the user an administrator")
    .action(async (username: string | undefined, password: string | undefined, opts: { admin?: boolean }) => {
      const { client } = await ctx.authenticated();
      const prompter = ctx.io.prompter;
      const name = username ?? (await prompter.line("New username: ")).trim();
      if (name === "") throw new CliError("no username given");
      const secret = password ?? await prompter.secret(`Password for ${name}: `);
      await client.adminCreateUser(name, secret, opts.admin === true);
      ctx.output().done(`User ${name} created${opts.admin === true ? " (admin)" : ""}, with group ${name}`);
    });

  users
    .command("delete")
    .description("delete a user (its state becomes Deleted)")
    .argument("<username>", "user to delete")
    .action(async (username: string) => {
      const { client } = await ctx.authenticated();
      const state = await client.adminDeleteUser(username);
      ctx.output().result({ state }, () => `User ${username} is now ${state}`);
    });

  users
    .command("change-password")
    .description("set another user's password; prompts for what is missing")
    .argument("[username]", "user whose password to set")
    .argument("[new]", "new password")
    .action(async (username: string | undefined, newPassword: string | undefined) => {
      const { client } = await ctx.authenticated();
      const prompter = ctx.io.prompter;
      const name = username ?? (await prompter.line("Username: ")).trim();
      if (name === "") throw new CliError("no username given");
      const secret = newPassword ?? await prompter.secret(`New password for ${name}: `);
      await client.adminChangePassword(name, secret);
      ctx.output().done(`Password of ${name} changed; their tokens are revoked`);
    });

  users
    .command("group-quota")
    .description("change how many groups a user may create; prints the new quota")
    .argument("<username>", "user")
    .argument("<quota>", QUOTA_HELP)
    // Quotas such as `-1` or `-10GB` look like options: accept them as arguments
    // (`mitosis admin users group-quota bob -1`); `--` works as well.
    .allowUnknownOption()
    .action(async (username: string, quota: string) => {
      const { client } = await ctx.authenticated();
      const groupQuota = await client.adminGroupQuota(username, quota);
      ctx.output().result({ group_quota: groupQuota }, () => String(groupQuota));
    });

  users
    .command("state")
    .description("set a user's state: Active, Locked or Deleted")
    .argument("<username>", "user")
    .argument("<state>", "Active, Locked or Deleted (any letter case)")
    .action(async (username: string, stateArg: string) => {
      const parsed = UserStateSchema.safeParse(stateArg);
      if (!parsed.success) throw new CliError(`"${stateArg}" is not a user state: Active, Locked or Deleted`);
      const { client } = await ctx.authenticated();
      const state = await client.adminUserState(username, parsed.data);
      ctx.output().result({ state }, () => `User ${username} is now ${state}`);
    });

  const groups = admin.command("groups").description("manage groups");
  groups
    .command("storage-quota")
    .description("change a group's storage quota; prints the new quota in bytes")
    .argument("<group>", "group")
    .argument("<quota>", `${QUOTA_HELP}; N is a size such as 10GB, 512MiB or 1000`)
    .allowUnknownOption() // `-10GB` is an argument, not an option
    .action(async (group: string, quota: string) => {
      const { client } = await ctx.authenticated();
      const storageQuota = await client.adminStorageQuota(group, quota);
      ctx.output().result({ storage_quota: storageQuota }, () => `${storageQuota} (${formatBytes(storageQuota)})`);
    });
  registerAdminAttachmentCommands(groups, ctx);
  registerAdminArtifactCommands(admin, ctx);
  registerAdminWorkerCommands(admin, ctx);

  admin
    .command("shutdown")
    .description("shut the coordinator down (the secret is in its start-up log)")
    .argument("<secret>", "shutdown secret")
    .action(async (secret: string) => {
      const { client } = await ctx.authenticated();
      await client.adminShutdown(secret);
      ctx.output().done("Coordinator is shutting down");
    });
}
