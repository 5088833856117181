/**
 * The CLI's global options. Those that are configuration keys are handed to
 * the config loader as flags, so precedence is defaults → TOML `[client]` →
 * `MITOSIS_*` environment → these flags; `--help` shows each one's
 * environment variable and default from the same field table.
 */
import type { Command } from "commander";
import { envName, flagName } from "../config/load.ts";
import { clientFields } from "../config/sections.ts";

/** Parsed global options (absent when not given on the command line). */
export interface GlobalOptions {
  coordinator?: string;
  user?: string;
  password?: string;
  config?: string;
  credentialPath?: string;
  retain?: boolean;
  json?: boolean;
}

type ClientKey = keyof typeof clientFields;

/** Global option → the config key it sets, with its commander flags spelling. */
const CONFIG_OPTIONS: readonly { option: keyof GlobalOptions; key: ClientKey; flags: string }[] = [
  { option: "coordinator", key: "coordinator_addr", flags: "-c, --coordinator <URL>" },
  { option: "user", key: "user", flags: "-u, --user <USERNAME>" },
  { option: "password", key: "password", flags: "-p, --password <PASSWORD>" },
  { option: "credentialPath", key: "credential_path", flags: "--credential-path <FILE>" },
  { option: "retain", key: "retain", flags: "--retain" },
];

function describe(key: ClientKey): string {
  const f = clientFields[key];
  const def = f.default === undefined ? "unset" : f.secret ? "(hidden)" : String(f.default);
  return `${f.help} (env ${envName(key)}, default ${def})`;
}

/** Adds the global options to the root command. */
export function addGlobalOptions(program: Command): void {
  program.option(
    "--config <FILE>",
    "config file with a [client] section (env MITOSIS_CONFIG, default $XDG_CONFIG_HOME/mitosis/config.toml)",
  );
  for (const { key, flags } of CONFIG_OPTIONS) program.option(flags, describe(key));
  program.option("--json", "print responses as JSON instead of tables");
}

/** The config loader's argument list for the given global options. */
export function configArgs(globals: GlobalOptions): string[] {
  const args: string[] = [];
  if (globals.config !== undefined) args.push(`--config=${globals.config}`);
  for (const { option, key } of CONFIG_OPTIONS) {
    const value = globals[option];
    if (value === undefined || value === false) continue;
    args.push(value === true ? `--${flagName(key)}` : `--${flagName(key)}=${value}`);
  }
  return args;
}
