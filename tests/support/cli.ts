/**
 * Runs the `mitosis` CLI (`mod.ts`) as a real subprocess inside a sandbox:
 * a temporary HOME and XDG_CONFIG_HOME (so the credential cache and config
 * file are the test's own), a clean environment, and the coordinator URL
 * in `MITOSIS_COORDINATOR_ADDR`. Dispose the sandbox to remove its files.
 */

import { sandboxEnv } from "./sandbox.ts";
import { saveCredential } from "../../shared/client/credentials.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

/** What one CLI run produced. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of one run. */
export interface RunOptions {
  /** Text piped to stdin; without it stdin is closed (prompts fail instead of waiting). */
  stdin?: string;
  /** Extra environment variables for this run; `undefined` removes one of the sandbox's. */
  env?: Record<string, string | undefined>;
}

/** A temporary home for CLI runs against one coordinator. */
export interface CliSandbox extends AsyncDisposable {
  /** The temporary directory (HOME). */
  readonly dir: string;
  /** `$XDG_CONFIG_HOME/mitosis/credentials` of the sandbox. */
  readonly credentialsFile: string;
  /** `$XDG_CONFIG_HOME/mitosis/config.toml` of the sandbox. */
  readonly configFile: string;
  /** Runs `mitosis <args>`. */
  run(args: string[], options?: RunOptions): Promise<CliResult>;
  /** Runs `mitosis <args>` and throws with its output unless it exits 0. */
  ok(args: string[], options?: RunOptions): Promise<CliResult>;
  /** The credential file's text, `""` when it does not exist. */
  credentials(): Promise<string>;
  /**
   * Caches `token` for `username` as `mitosis login` does after its login
   * request (the same `saveCredential`), without running the CLI: for tests
   * whose subject is not the login, with a token the test got over HTTP.
   */
  remember(username: string, token: string): Promise<void>;
}

/** Creates a sandbox whose runs talk to `coordinatorUrl` (override with `-c`). */
export async function cliSandbox(coordinatorUrl: string): Promise<CliSandbox> {
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-cli-" });
  const configHome = `${dir}/config`;
  const baseEnv = sandboxEnv(dir, { MITOSIS_COORDINATOR_ADDR: coordinatorUrl });
  const run = async (args: string[], options: RunOptions = {}): Promise<CliResult> => {
    const env = { ...baseEnv };
    for (const [name, value] of Object.entries(options.env ?? {})) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
    const child = new Deno.Command(Deno.execPath(), {
      // --quiet: deno's own diagnostics (e.g. npm bin warnings) would pollute the CLI's stderr.
      args: ["run", "--quiet", "--allow-all", MOD, ...args],
      env,
      clearEnv: true,
      cwd: dir,
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(options.stdin));
      await writer.close();
    }
    const out = await child.output();
    return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
  };
  return {
    dir,
    credentialsFile: `${configHome}/mitosis/credentials`,
    configFile: `${configHome}/mitosis/config.toml`,
    run,
    async ok(args, options) {
      const result = await run(args, options);
      if (result.code !== 0) {
        throw new Error(
          `mitosis ${args.join(" ")} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
        );
      }
      return result;
    },
    async credentials() {
      try {
        return await Deno.readTextFile(`${configHome}/mitosis/credentials`);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return "";
        throw error;
      }
    },
    remember: (username, token) => saveCredential(`${configHome}/mitosis/credentials`, username, token),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** A loopback URL on which nothing listens (a port just bound and released). */
export function unreachableUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return `http://127.0.0.1:${port}`;
}
