/**
 * The unprivileged user tasks and suite hooks run as when a daemon
 * (`mitosis-manager`, `mitosis-worker`) runs as root: `task_user` (default
 * `mitosis-task`, created with `useradd --system` when missing). Task code
 * then cannot read the daemon's state (manager token, credential cache,
 * config files: mode 0600/0700, owned by root).
 *
 * - Not root: tasks run as the daemon's own user; nothing changes.
 * - `task_user = "root"`: tasks run as root (opt-out, logged as a warning).
 * - Dropping: the task is spawned through util-linux `setpriv --reuid
 *   --regid --init-groups`, its work dir is handed to the user (`chown -R
 *   --no-dereference`) just before it starts, and its HOME/USER/LOGNAME name
 *   that user (`parentDeathPrefix` adds `--pdeathsig KILL`, see
 *   `process.ts`). The directories above a work dir get the search bit for others
 *   (as for the embedded PostgreSQL's data directory) so the user can reach
 *   its work dir without being able to list anything.
 */
import type { Logger } from "../log/logger.ts";

/** An account tasks run as. */
export interface TaskUser {
  name: string;
  uid: number;
  gid: number;
  /** Home directory from the passwd entry (may not exist). */
  home: string;
}

/** Default `task_user`. */
export const DEFAULT_TASK_USER = "mitosis-task";

/** Whether this process runs as root. */
export const runningAsRoot = (): boolean => Deno.uid() === 0;

/** A task user that cannot be used (lookup or creation failed). */
export class TaskUserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TaskUserError";
  }
}

/** Runs a command, returning its exit status and output. */
async function run(program: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const out = await new Deno.Command(program, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
    const decoder = new TextDecoder();
    return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr).trim() };
  } catch (error) {
    return { code: 127, stdout: "", stderr: error instanceof Error ? error.message : String(error) };
  }
}

/** The passwd entry of `name`, or null when there is none. */
export async function lookupUser(name: string): Promise<TaskUser | null> {
  const result = await run("getent", ["passwd", name]);
  if (result.code !== 0) return null;
  const fields = result.stdout.split("\n")[0].split(":");
  if (fields.length < 7) return null;
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return null;
  return { name: fields[0], uid, gid, home: fields[5] };
}

function firstFile(paths: readonly string[]): string | undefined {
  return paths.find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}

/**
 * An account tool from the system directories, else by name from `PATH`:
 * daemons often run with `PATH=/usr/bin:/bin`, which lacks `/usr/sbin`.
 */
const systemTool = (name: string): string => firstFile([`/usr/sbin/${name}`, `/sbin/${name}`]) ?? name;

/** Creates system user `name` (no login shell, no home directory). */
async function createUser(name: string): Promise<void> {
  const nologin = firstFile(["/usr/sbin/nologin", "/sbin/nologin", "/bin/false"]) ?? "/bin/false";
  const attempts: [string, string[]][] = [
    [systemTool("useradd"), [
      "--system",
      "--user-group",
      "--no-create-home",
      "--home-dir",
      "/nonexistent",
      "--shell",
      nologin,
      name,
    ]],
    [systemTool("adduser"), ["-S", "-D", "-H", "-h", "/nonexistent", "-s", nologin, name]], // BusyBox (Alpine)
  ];
  const failures: string[] = [];
  for (const [program, args] of attempts) {
    const result = await run(program, args);
    if (result.code === 0) return;
    failures.push(`${program}: ${result.stderr || `exit ${result.code}`}`);
  }
  throw new TaskUserError(`cannot create the task user ${name} (${failures.join("; ")})`);
}

/** How `resolveTaskUser` behaves. */
export interface ResolveTaskUserOptions {
  /** Create the user when it does not exist (the daemon that owns the setting does; a managed worker does not). */
  create: boolean;
  /** Warn when tasks run as root (`task_user = "root"`); a managed worker leaves that to its manager. */
  warnOptOut: boolean;
  log: Logger;
}

/**
 * The user tasks run as, or null when they run as this process's user (not
 * root, or `task_user = "root"`). Throws `TaskUserError` when the user is
 * missing and cannot be created, or is root under another name.
 */
export async function resolveTaskUser(name: string, options: ResolveTaskUserOptions): Promise<TaskUser | null> {
  const { log } = options;
  if (!runningAsRoot()) return null;
  if (name === "root") {
    if (options.warnOptOut) {
      log.warn("task_user is root: tasks and hooks run as root and can read this daemon's token and credentials");
    }
    return null;
  }
  let user = await lookupUser(name);
  if (user === null) {
    if (!options.create) throw new TaskUserError(`task user ${name} does not exist`);
    await createUser(name);
    user = await lookupUser(name);
    if (user === null) throw new TaskUserError(`task user ${name} was created but cannot be looked up`);
    log.info("task user created", { task_user: name, uid: user.uid, gid: user.gid });
  }
  if (user.uid === 0) {
    throw new TaskUserError(`task user ${name} has uid 0; use task_user = "root" to run tasks as root`);
  }
  dropPrivilegesPrefix(user); // fails now, not at the first task, when setpriv is missing
  return user;
}

/** util-linux `setpriv(1)`, when installed. */
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv", "/sbin/setpriv"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

/** The argv prefix that runs a program as `user` (real and effective ids, its groups only). */
export function dropPrivilegesPrefix(user: TaskUser): string[] {
  if (SETPRIV === undefined) throw new TaskUserError("setpriv (util-linux) is needed to run tasks as the task user");
  return [SETPRIV, `--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups", "--"];
}

/**
 * The argv prefix that runs a program as `user` (when given) with SIGKILL
 * as its parent-death signal: it is killed when the process that spawned it
 * dies. `setpriv` sets the signal after changing the ids (a change of
 * effective ids would clear it) and it survives the exec of the program
 * (unless that program is set-user-ID or has file capabilities). Without
 * `setpriv`: `[]` (no parent-death signal), or `TaskUserError` when `user`
 * is given.
 */
export function parentDeathPrefix(user: TaskUser | undefined): string[] {
  if (user !== undefined) return [...dropPrivilegesPrefix(user).slice(0, -1), "--pdeathsig", "KILL", "--"];
  return SETPRIV === undefined ? [] : [SETPRIV, "--pdeathsig", "KILL", "--"];
}

/** The environment variables naming `user` (HOME, USER, LOGNAME), set on top of a task's environment. */
export function taskUserEnv(user: TaskUser): Record<string, string> {
  return { HOME: user.home, USER: user.name, LOGNAME: user.name };
}

/**
 * Changes the owner of `path` and everything below it without following
 * symbolic links (`chown -R --no-dereference`). Throws when it fails.
 */
export async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  const result = await run("chown", ["-R", "--no-dereference", `${uid}:${gid}`, "--", path]);
  if (result.code !== 0) throw new Error(`cannot change the owner of ${path}: ${result.stderr}`);
}

/** Hands `path` (a task's or hook's work dir) to `user`. */
export function handTo(path: string, user: TaskUser): Promise<void> {
  return chownTree(path, user.uid, user.gid);
}

/** Takes `path` back from the task user: owned by this process again, so nothing there can be tampered with. */
export function takeBack(path: string): Promise<void> {
  return chownTree(path, Deno.uid() ?? 0, Deno.gid() ?? 0);
}

/**
 * Adds the search bit for others to `dir` and every directory above it
 * where it is missing, so the task user can reach `dir` (it cannot list
 * them). Each change is logged as a warning.
 */
export function makeReachable(dir: string, log: Logger): void {
  const parts = dir.split("/").filter((p) => p !== "");
  let path = "";
  for (const part of parts) {
    path += `/${part}`;
    const mode = Deno.statSync(path).mode ?? 0;
    if ((mode & 0o001) === 0) {
      Deno.chmodSync(path, (mode & 0o7777) | 0o001);
      log.warn("granted search permission to others so the task user can reach its work dir", { path });
    }
  }
}
