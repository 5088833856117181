/**
 * Loads an executable's configuration: built-in defaults, then the TOML file
 * (`--config FILE`, else `$XDG_CONFIG_HOME/mitosis/config.toml`), then
 * `MITOSIS_*` environment variables, then command-line flags. The merged
 * result is validated field by field; every bad field yields one line.
 */
import { parseArgs } from "node:util";
import { parse as parseToml } from "smol-toml";
import type { ConfigOf, FieldTable } from "./fields.ts";

/** A configuration that could not be loaded; `lines` has one entry per problem. */
export class ConfigError extends Error {
  readonly lines: string[];
  constructor(lines: string[]) {
    super(lines.join("\n"));
    this.name = "ConfigError";
    this.lines = lines;
  }
}

/** Inputs of `loadConfig`; every part defaults to the real process's. */
export interface LoadOptions {
  /** Command-line arguments (without the program name). */
  args?: string[];
  /** Environment variables. */
  env?: Record<string, string>;
  /** Extra flags the executable accepts besides the config keys. */
  extraFlags?: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>;
}

/** What `loadConfig` returns. */
export interface Loaded<T extends FieldTable> {
  config: ConfigOf<T>;
  /** Where the config file was read from, if any. */
  configFile?: string;
  /** Positional arguments left after the flags. */
  positionals: string[];
  /** Values of `extraFlags`. */
  extra: Record<string, string | boolean | string[] | undefined>;
  /** Keys of the section present in the file but unknown (reported as warnings). */
  unknownKeys: string[];
  /** True when `--help` was given. */
  help: boolean;
  /** Where each key set explicitly came from: `file PATH`, `env NAME` or `flag --NAME`. */
  sources: Partial<Record<keyof T, string>>;
}

/** The environment variable name of a key: `db_url` → `MITOSIS_DB_URL`. */
export const envName = (key: string): string => `MITOSIS_${key.toUpperCase()}`;
/** The long flag of a key: `db_url` → `db-url`. */
export const flagName = (key: string): string => key.replaceAll("_", "-");

/** `$XDG_CONFIG_HOME` (or `~/.config`). */
export function configHome(env: Record<string, string>): string {
  return env.XDG_CONFIG_HOME || `${env.HOME ?? "."}/.config`;
}

/** `$XDG_DATA_HOME` (or `~/.local/share`). */
export function dataHome(env: Record<string, string>): string {
  return env.XDG_DATA_HOME || `${env.HOME ?? "."}/.local/share`;
}

/** Loads and validates the `section` of the configuration described by `fields`. */
export function loadConfig<T extends FieldTable>(section: string, fields: T, options: LoadOptions = {}): Loaded<T> {
  const env = options.env ?? Deno.env.toObject();
  const args = options.args ?? Deno.args;

  // Flags: one long flag per key, plus aliases and executable-specific extras.
  type ParseOption = { type: "string" | "boolean"; short?: string; multiple?: boolean };
  const flagOptions: Record<string, ParseOption> = {
    config: { type: "string" },
    help: { type: "boolean", short: "h" },
  };
  const flagToKey = new Map<string, string>();
  for (const [key, f] of Object.entries(fields)) {
    const long = flagName(key);
    flagOptions[long] = { type: f.flag };
    flagToKey.set(long, key);
    for (const alias of f.aliases) {
      if (alias.length === 1) flagOptions[long].short = alias;
      else {
        flagOptions[alias] = { type: f.flag };
        flagToKey.set(alias, key);
      }
    }
  }
  Object.assign(flagOptions, options.extraFlags ?? {});
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: flagOptions, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ConfigError([`${section}: ${(error as Error).message}`]);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;

  // File.
  const raw: Record<string, { value: unknown; source: string }> = {};
  const unknownKeys: string[] = [];
  const explicitFile = values.config as string | undefined ?? env.MITOSIS_CONFIG;
  const file = explicitFile ?? `${configHome(env)}/mitosis/config.toml`;
  let configFile: string | undefined;
  let text: string | undefined;
  try {
    text = Deno.readTextFileSync(file);
    configFile = file;
  } catch (error) {
    if (explicitFile !== undefined || !(error instanceof Deno.errors.NotFound)) {
      throw new ConfigError([`config file ${file}: ${(error as Error).message}`]);
    }
  }
  if (text !== undefined) {
    let doc: Record<string, unknown>;
    try {
      doc = parseToml(text) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError([`config file ${file}: ${(error as Error).message.split("\n")[0]}`]);
    }
    const part = doc[section];
    if (part !== undefined) {
      if (typeof part !== "object" || part === null || Array.isArray(part)) {
        throw new ConfigError([`config file ${file}: [${section}] must be a table`]);
      }
      for (const [key, value] of Object.entries(part)) {
        if (key in fields) raw[key] = { value, source: `file ${file}` };
        else unknownKeys.push(key);
      }
    }
  }

  // Environment.
  for (const key of Object.keys(fields)) {
    const name = envName(key);
    if (env[name] !== undefined) raw[key] = { value: env[name], source: `env ${name}` };
  }

  // Flags.
  for (const [flag, value] of Object.entries(values)) {
    const key = flagToKey.get(flag);
    if (key !== undefined && value !== undefined) raw[key] = { value, source: `flag --${flag}` };
  }

  // Validate each field; collect one line per bad field.
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(fields)) {
    const entry = raw[key];
    if (entry === undefined) {
      if (f.default === undefined && !f.schema.safeParse(undefined).success) {
        problems.push(`${section}.${key}: required (set it in the config file, ${envName(key)} or --${flagName(key)})`);
      }
      config[key] = f.default;
      continue;
    }
    const result = f.schema.safeParse(entry.value);
    if (result.success) config[key] = result.data;
    else {
      const message = result.error.issues.map((i) => i.message).join("; ");
      problems.push(`${section}.${key}: ${message} (from ${entry.source})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const extra: Loaded<T>["extra"] = {};
  for (const name of Object.keys(options.extraFlags ?? {})) extra[name] = values[name];
  return {
    config: config as ConfigOf<T>,
    configFile,
    positionals: parsed.positionals,
    extra,
    unknownKeys,
    help: values.help === true,
    sources: Object.fromEntries(Object.entries(raw).map(([key, entry]) => [key, entry.source])) as Loaded<T>["sources"],
  };
}

/**
 * Renders `--help` text: every flag with its default and environment name,
 * then `extraFlags` (an executable's own flags, as `[flag, help]` pairs; a
 * help with newlines continues on indented lines).
 */
export function renderHelp(usage: string, fields: FieldTable, extraFlags: [string, string][] = []): string {
  const lines = [usage, "", "Options (flag, environment variable, default):"];
  lines.push(
    "  --config FILE                 config file (env MITOSIS_CONFIG; default $XDG_CONFIG_HOME/mitosis/config.toml)",
  );
  for (const [key, f] of Object.entries(fields)) {
    const names = [`--${flagName(key)}`, ...f.aliases.map((a) => (a.length === 1 ? `-${a}` : `--${a}`))];
    const def = f.default === undefined ? "unset" : f.secret ? "(hidden)" : f.format(f.default);
    lines.push(`  ${names.join(", ").padEnd(30)} ${f.help}`);
    lines.push(`  ${"".padEnd(30)} env ${envName(key)}, default ${def}`);
  }
  for (const [flag, help] of extraFlags) {
    help.split("\n").forEach((text, i) => lines.push(`  ${(i === 0 ? flag : "").padEnd(30)} ${text}`));
  }
  lines.push("  --version                     print the version, git commit and build date");
  lines.push("  -h, --help                    show this help");
  return lines.join("\n");
}
