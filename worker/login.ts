/**
 * The user token a worker registers with, obtained like the CLI does: the
 * cached token of the configured (or first cached) user when the coordinator
 * still accepts it, else a login with `--user`/`--password` (flag, env
 * `MITOSIS_USER`/`MITOSIS_PASSWORD` or `[worker]` config), whose token is
 * cached. Missing answers are prompted for only on a terminal; otherwise the
 * worker fails with a message naming the settings to use.
 */
import { MitosisClient } from "../shared/client/client.ts";
import { credentialPath } from "../shared/client/credentials.ts";
import { type Prompter, stdinPrompter } from "../shared/cli/prompt.ts";
import { Session } from "../shared/cli/session.ts";
import type { ConfigOf } from "../shared/config/fields.ts";
import type { workerFields } from "../shared/config/sections.ts";

/** The validated `[worker]` configuration. */
export type WorkerConfig = ConfigOf<typeof workerFields>;

/** The login settings `userToken` reads (shared by `[worker]` and `[manager]`). */
export type LoginSettings = Pick<WorkerConfig, "coordinator_addr" | "credential_path" | "user" | "password" | "retain">;

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
          `set --${what === "username" ? "user" : "password"} (or MITOSIS_${
            what === "username" ? "USER" : "PASSWORD"
          }, ` +
          `or [${section}] ${what === "username" ? "user" : "password"} in the config file)`,
      ),
    );
  return {
    line: () => refuse("username"),
    secret: () => refuse("password"),
  };
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
    password: config.password,
    retain: config.retain,
    prompter: Deno.stdin.isTerminal() ? stdinPrompter(toStderr) : refusingPrompter(section),
    notice: toStderr,
  });
  const username = await session.authenticate();
  if (client.token === undefined) throw new LoginError("login returned no token");
  return { username, token: client.token };
}
