/** `mitosis login` and `mitosis auth`. */
import type { Command } from "commander";
import type { CliContext } from "../context.ts";

/** Registers `login` and `auth` on the root command. */
export function registerAuthCommands(program: Command, ctx: CliContext): void {
  program
    .command("login")
    .description("log in (prompting for what is missing) and cache the token; --retain keeps older tokens valid")
    .argument("[username]", "user to log in as (default --user, else prompted)")
    .argument("[password]", "password (default --password, else prompted without echo)")
    .action(async (username: string | undefined, password: string | undefined) => {
      const session = ctx.session();
      const name = await session.login(username, password);
      ctx.output().result({ token: session.client.token }, () => `Logged in as ${name}`);
    });

  program
    .command("auth")
    .description("show the user the cached credential belongs to (logging in when it is missing or expired)")
    .action(async () => {
      const { username } = await ctx.authenticated();
      ctx.output().result({ username }, () => username);
    });
}
