/**
 * The `mitosis` CLI: builds the command tree (commander) and runs it,
 * turning every failure into `error: <message>` on stderr and a non-zero
 * exit status instead of exiting inside library code.
 */
import { Command, CommanderError } from "commander";
import { ClientError } from "../client/client.ts";
import { ConfigError } from "../config/load.ts";
import { addSingularAliases } from "./aliases.ts";
import { CliContext, type CliIo, processIo } from "./context.ts";
import { CliError } from "./errors.ts";
import { addGlobalOptions, type GlobalOptions } from "./globals.ts";
import { registerAdminCommands } from "./commands/admin.ts";
import { registerAuthCommands } from "./commands/auth.ts";
import { registerGroupCommands } from "./commands/groups.ts";
import { registerUserCommands } from "./commands/users.ts";
import { registerTaskCommands } from "./commands/tasks.ts";
import { registerWorkerCommands } from "./commands/workers.ts";
import { registerSuiteCommands } from "./commands/suites.ts";
import { registerManagerCommands } from "./commands/managers.ts";
import { scopeGlobalOptions } from "./option_scope.ts";
import { versionLine } from "../runtime/build_info.ts";

/** Builds the root command; its actions use `io` for all input and output. */
export function buildProgram(io: CliIo): Command {
  const program = new Command("mitosis")
    .description("Mitosis client: log in, manage users and groups, administer the coordinator")
    .option("--version", "print the version, git commit and build date")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError();
  addGlobalOptions(program);
  const ctx = new CliContext(io, () => program.opts<GlobalOptions>());
  registerAuthCommands(program, ctx);
  registerUserCommands(program, ctx);
  registerGroupCommands(program, ctx);
  registerTaskCommands(program, ctx);
  registerWorkerCommands(program, ctx);
  registerSuiteCommands(program, ctx);
  registerManagerCommands(program, ctx);
  registerAdminCommands(program, ctx);
  addSingularAliases(program);
  scopeGlobalOptions(program);
  return program;
}

/** Reports a failure on stderr and returns the exit status for it. */
function report(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) return error.exitCode; // commander already printed it
  if (error instanceof ConfigError) {
    for (const line of error.lines) io.stderr(`error: ${line}\n`);
    return 1;
  }
  if (error instanceof ClientError || error instanceof CliError) {
    io.stderr(`error: ${error.message}\n`);
    return 1;
  }
  io.stderr(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
}

/** Runs the CLI with `args` (without the program name); resolves with the exit status. */
export async function runCli(args: readonly string[], io: CliIo = processIo()): Promise<number> {
  if (args[0] === "--version") {
    io.stdout(`${versionLine("mitosis")}\n`);
    return 0;
  }
  try {
    await buildProgram(io).parseAsync([...args], { from: "user" });
    return 0;
  } catch (error) {
    return report(error, io);
  }
}
