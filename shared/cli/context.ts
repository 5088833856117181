/**
 * What a CLI command works with: the process's streams and environment, the
 * loaded `[client]` configuration, the output style and the session. The
 * configuration is loaded on first use, after commander has parsed the
 * global options, so `--help` works even with a broken config file.
 */
import { type ConfigOf } from "../config/fields.ts";
import { loadConfig } from "../config/load.ts";
import { clientFields } from "../config/sections.ts";
import { MitosisClient } from "../client/client.ts";
import { credentialPath } from "../client/credentials.ts";
import { configArgs, type GlobalOptions } from "./globals.ts";
import { Output } from "./output.ts";
import { type Prompter, stdinPrompter } from "./prompt.ts";
import { Session } from "./session.ts";

/** The validated `[client]` configuration. */
export type ClientConfig = ConfigOf<typeof clientFields>;

/** The outside world of one CLI run: environment, output streams, prompts. */
export interface CliIo {
  env: Record<string, string>;
  /** Writes text to stdout as is. */
  stdout(text: string): void;
  /** Writes text to stderr as is. */
  stderr(text: string): void;
  prompter: Prompter;
}

const encoder = new TextEncoder();

function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
}

/** The real process: `Deno.env`, `Deno.stdout`/`Deno.stderr`, prompts on `Deno.stdin`. */
export function processIo(): CliIo {
  const stderr = (text: string) => writeAll(Deno.stderr, text);
  return {
    env: Deno.env.toObject(),
    stdout: (text) => writeAll(Deno.stdout, text),
    stderr,
    prompter: stdinPrompter(stderr),
  };
}

/** Per-run state shared by all commands. */
export class CliContext {
  readonly io: CliIo;
  readonly #globals: () => GlobalOptions;
  #config?: ClientConfig;
  #session?: Session;

  /** `globals` reads the parsed global options (valid once commander has parsed them). */
  constructor(io: CliIo, globals: () => GlobalOptions) {
    this.io = io;
    this.#globals = globals;
  }

  /** The `[client]` configuration; throws `ConfigError` with one line per bad field. */
  config(): ClientConfig {
    if (this.#config === undefined) {
      const loaded = loadConfig("client", clientFields, { args: configArgs(this.#globals()), env: this.io.env });
      for (const key of loaded.unknownKeys) {
        this.io.stderr(`warning: unknown configuration key client.${key} in ${loaded.configFile} ignored\n`);
      }
      this.#config = loaded.config;
    }
    return this.#config;
  }

  /** The output style chosen with `--json`. */
  output(): Output {
    return new Output(this.io.stdout, this.#globals().json === true);
  }

  /** The session: client plus credential cache. */
  session(): Session {
    if (this.#session === undefined) {
      const config = this.config();
      this.#session = new Session({
        client: new MitosisClient({ baseUrl: config.coordinator_addr }),
        credentialPath: credentialPath(config.credential_path, this.io.env),
        user: config.user,
        password: config.password,
        retain: config.retain,
        prompter: this.io.prompter,
        notice: this.io.stderr,
      });
    }
    return this.#session;
  }

  /** A client authenticated as the command's user (cached token or fresh login). */
  async authenticated(): Promise<{ client: MitosisClient; username: string }> {
    const session = this.session();
    const username = await session.authenticate();
    return { client: session.client, username };
  }
}
