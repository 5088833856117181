/**
 * The user token a worker (or manager) registers with, obtained like the CLI
 * does: the cached token of the configured (or first cached) user when the
 * coordinator still accepts it, else a login with `--user` and the password
 * (env `MITOSIS_PASSWORD`, `password_file`, config `password`, or
 * `--password`, which is accepted with a warning: any local user can read a
 * command line). The user's token is **not** cached: a daemon keeps only its
 * own token, so task code cannot find the user's. Missing answers are
 * prompted for only on a terminal; otherwise the daemon fails with a message
 * naming the settings to use.
 */
import { MitosisClient } from "../shared/client/client.ts";
import { credentialPath } from "../shared/client/credentials.ts";
import { type Prompter, stdinPrompter } from "../shared/cli/prompt.ts";
import { Session } from "../shared/cli/session.ts";
import type { ConfigOf } from "../shared/config/fields.ts";
import type { workerFields } from "../shared/config/sections.ts";
export { warnIfPasswordOnCommandLine, warnIfPasswordReadable } from "./password_warnings.ts";

/** The validated `[worker]` configuration. */
export type WorkerConfig = ConfigOf<typeof workerFields>;

/** The login settings `userToken` reads (shared by `[worker]` and `[manager]`). */
export type LoginSettings = Pick<
  WorkerConfig,
  "coordinator_addr" | "credential_path" | "user" | "password" | "password_file" | "retain"
>;

/** A local failure to obtain credentials (nothing to log in with). */
export class LoginError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LoginError";
  }
}

/** A prompter that refuses: stdin is not a terminal, so nobody can answer. `section` names the config section. */
function refusingPrompter(section: string): Prompter {
  const refuse = (what: string): Promise<string> =>
    Promise.reject(
      new LoginError(
        `no ${what} to log in with and stdin is not a terminal: ` +
          (what === "username"
            ? `set --user (or MITOSIS_USER, or [${section}] user in the config file)`
            : `set MITOSIS_PASSWORD or --password-file (or [${section}] password_file in the config file)`),
      ),
    );
  return {
    line: () => refuse("username"),
    secret: () => refuse("password"),
  };
}

/**
 * The configured password: `password` (flag, env or config), else the
 * first line of `password_file`; undefined when neither is set. Throws
 * `LoginError` when the file cannot be read.
 */
export async function configuredPassword(
  config: Pick<LoginSettings, "password" | "password_file">,
): Promise<string | undefined> {
  if (config.password !== undefined) return config.password;
  if (config.password_file === undefined) return undefined;
  try {
    const text = await Deno.readTextFile(config.password_file);
    return text.split("\n")[0].replace(/\r$/, "");
  } catch (error) {
    throw new LoginError(`cannot read the password file ${config.password_file}: ${(error as Error).message}`);
  }
}

/** Writes a line to stderr (prompts and notices for the person at the terminal). */
function toStderr(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(text));
}

/**
 * Returns a valid user token and its username. `env` locates the default
 * credential cache (`$XDG_CONFIG_HOME/mitosis/credentials`); `section` is
 * the config section named in the "nothing to log in with" message.
 */
export async function userToken(
  config: LoginSettings,
  env: Record<string, string>,
  section = "worker",
): Promise<{ username: string; token: string }> {
  const client = new MitosisClient({ baseUrl: config.coordinator_addr });
  const session = new Session({
    client,
    credentialPath: credentialPath(config.credential_path, env),
    user: config.user,
    password: await configuredPassword(config),
    retain: config.retain,
    cacheLogins: false,
    prompter: Deno.stdin.isTerminal() ? stdinPrompter(toStderr) : refusingPrompter(section),
    notice: toStderr,
  });
  const username = await session.authenticate();
  if (client.token === undefined) throw new LoginError("login returned no token");
  return { username, token: client.token };
}
