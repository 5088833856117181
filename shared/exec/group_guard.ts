/**
 * The guard that kills a task's whole process group when the process that
 * spawned it (a worker, a manager running a hook) dies without doing it —
 * SIGKILL, a crash, the OOM killer.
 *
 * Why a separate process: the task leader is spawned with a parent-death
 * signal (`setpriv --pdeathsig KILL`, see `process.ts`), but that reaches
 * the leader only; the processes it forked stay in its group, reparented to
 * init, and would keep running. So next to every task a guard is spawned: a
 * `/bin/sh` in its own session (so killing the worker's process group does
 * not take it along), whose stdin is a pipe from the worker. The worker
 * never writes to it until the task is over; when the worker dies, the
 * kernel closes the pipe, the guard's `read` sees end of file and it sends
 * SIGKILL to the task's group (`kill -s KILL -- -<pgid>`), then exits. When
 * the task ends normally the worker writes `done`, and the guard exits
 * without signalling anything. Running as the daemon's user (root when
 * tasks run as the task user), the guard cannot be killed by the task.
 *
 * The guard cannot act when it is killed itself, or when the worker dies
 * before the guard is spawned; the records of `group_records.ts` cover that
 * at the worker's next start.
 */
import type { Logger } from "../log/logger.ts";

/** What the guard runs: `$1` is the task's process group id. */
const GUARD_SCRIPT = 'IFS= read -r line; [ "$line" = done ] || kill -s KILL -- "-$1" 2>/dev/null; exit 0';

/** util-linux `setsid(1)`, when installed. */
const SETSID = ["/usr/bin/setsid", "/bin/setsid"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

/** A running guard of one process group. */
export interface GroupGuard {
  /** The guard's pid (for tests and logs). */
  readonly pid: number;
  /** Tells the guard the task is over (it exits without killing) and waits for it to exit. */
  release(): Promise<void>;
}

/**
 * Spawns the guard of process group `pgid`; null (with a warning) when it
 * cannot be spawned: the task still runs, covered by the parent-death
 * signal and the restart records only.
 */
export function startGroupGuard(pgid: number, log: Logger): GroupGuard | null {
  const args = ["-c", GUARD_SCRIPT, "mitosis-task-guard", String(pgid)];
  let child: Deno.ChildProcess;
  try {
    const common = {
      env: { PATH: "/usr/bin:/bin" },
      clearEnv: true,
      cwd: "/",
      stdin: "piped" as const,
      stdout: "null" as const,
      stderr: "null" as const,
    };
    child = SETSID === undefined
      ? new Deno.Command("/bin/sh", { ...common, args, detached: true }).spawn()
      : new Deno.Command(SETSID, { ...common, args: ["--", "/bin/sh", ...args] }).spawn();
  } catch (error) {
    log.warn("cannot spawn the guard of a task process group; it may outlive this process if it dies", {
      pgid,
      error,
    });
    return null;
  }
  return {
    pid: child.pid,
    release: async () => {
      const writer = child.stdin.getWriter();
      try {
        await writer.write(new TextEncoder().encode("done\n"));
        await writer.close();
      } catch (error) {
        // The guard is gone already (killed by someone): nothing to tell it.
        log.warn("the guard of a task process group was gone before the task ended", { pgid, error });
      }
      await child.status;
    },
  };
}
