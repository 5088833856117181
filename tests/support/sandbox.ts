/**
 * The environment of a child process run in a temporary home: nothing
 * inherited but PATH, its own HOME and XDG directories (so no real
 * configuration, credential cache or state leaks in or out), and the test
 * process's Deno cache (so a temporary HOME does not empty it).
 *
 * Task user: tests run as root, where daemons run tasks and hooks as the
 * unprivileged `task_user` (default `mitosis-task`), which cannot reach the
 * tests' 0700 temporary directories. The sandbox therefore opts out with
 * `MITOSIS_TASK_USER=root`; a test proving the privilege drop passes
 * `MITOSIS_TASK_USER` itself (e.g. `mitosis-task`) in `extra`.
 */
import { supervise, type Supervised } from "./process.ts";

/** Deno's cache directory as children should see it. */
export function denoDir(): string {
  const explicit = Deno.env.get("DENO_DIR");
  if (explicit) return explicit;
  const home = Deno.env.get("HOME") ?? ".";
  if (Deno.build.os === "darwin") return `${home}/Library/Caches/deno`;
  return `${Deno.env.get("XDG_CACHE_HOME") || `${home}/.cache`}/deno`;
}

/** The whole environment of a child whose HOME is `home`, plus `extra`. */
export function sandboxEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOME: home,
    XDG_CONFIG_HOME: `${home}/config`,
    XDG_CACHE_HOME: `${home}/xdg-cache`,
    XDG_STATE_HOME: `${home}/xdg-state`,
    DENO_DIR: denoDir(),
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    RUST_BACKTRACE: "0",
    NO_COLOR: "1",
    MITOSIS_TASK_USER: "root",
    ...extra,
  };
}

/**
 * Starts `deno <args>` with HOME and cwd `home`, the sandbox environment plus
 * `extra`, stdin closed and output collected; stopping escalates to SIGKILL
 * after `graceMs`.
 */
export function spawnSandboxed(
  args: string[],
  home: string,
  extra: Record<string, string> | undefined,
  graceMs: number,
): { process: Deno.ChildProcess; supervised: Supervised } {
  const process = new Deno.Command(Deno.execPath(), {
    args,
    env: sandboxEnv(home, extra),
    clearEnv: true,
    cwd: home,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return { process, supervised: supervise(process, graceMs) };
}
