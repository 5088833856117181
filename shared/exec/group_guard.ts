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
 *
 * A process running many tasks (a managed worker) can keep one guard for
 * all of them instead (`sharedGroupGuard`): the same `/bin/sh` in its own
 * session, started with the first task, told `+<pgid>` when a group starts
 * and `-<pgid>` when it is gone; when this process dies it SIGKILLs every
 * group still listed. That saves two program executions (`setsid`, `sh`)
 * and a spawn per task. A guard found dead (killed by someone) is replaced
 * at the next task, and told the groups still running.
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

/**
 * What the shared guard runs: a list of groups (`+N` adds, `-N` removes),
 * all SIGKILLed once its stdin reaches end of file.
 */
export const SHARED_GUARD_SCRIPT = [
  "g=' '",
  "while IFS= read -r l; do",
  "  case $l in",
  '    +*) g="$g${l#+} " ;;',
  '    -*) p=${l#-}; case $g in *" $p "*) g="${g%% $p *} ${g#* $p }" ;; esac ;;',
  "  esac",
  "done",
  'for p in $g; do kill -s KILL -- "-$p" 2>/dev/null; done',
  "exit 0",
].join("\n");

const encoder = new TextEncoder();

/** The guard of every task group of this process (see the module comment). */
class SharedGroupGuard {
  #child: Deno.ChildProcess | null = null;
  #writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  /** Groups running, as the guard must know them. */
  readonly #groups = new Set<number>();
  /** Writes to the guard, one after the other. */
  #queue: Promise<unknown> = Promise.resolve();

  /** Puts group `pgid` under the guard; resolves with a handle, or null (with a warning) when no guard runs. */
  async guard(pgid: number, log: Logger): Promise<GroupGuard | null> {
    this.#groups.add(pgid);
    const pid = await this.#send(`+${pgid}\n`, log);
    if (pid === null) return null;
    return {
      pid,
      release: async () => {
        this.#groups.delete(pgid);
        await this.#send(`-${pgid}\n`, log);
      },
    };
  }

  /** Queues `line` for the guard, (re)starting it when needed; resolves with its pid, null when none runs. */
  #send(line: string, log: Logger): Promise<number | null> {
    const sent = this.#queue.then(() => this.#write(line, log));
    this.#queue = sent;
    return sent;
  }

  async #write(line: string, log: Logger): Promise<number | null> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let text = line;
      if (this.#child === null) {
        if (!this.#start(log)) return null;
        // A new guard learns every group still running (the line itself, when it adds one, is among them).
        text = [...this.#groups].map((g) => `+${g}\n`).join("");
      }
      const child = this.#child!;
      try {
        if (text !== "") await this.#writer!.write(encoder.encode(text));
        return child.pid;
      } catch (error) {
        log.warn("the shared task group guard is gone; starting another", { guard_pid: child.pid, error });
        this.#drop(child);
      }
    }
    return null;
  }

  /** Spawns the guard; false (with a warning) when it cannot be spawned. */
  #start(log: Logger): boolean {
    const args = ["-c", SHARED_GUARD_SCRIPT, "mitosis-task-guard", "shared"];
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
      log.warn("cannot spawn the guard of the task process groups; they may outlive this process if it dies", {
        error,
      });
      return false;
    }
    // It must not keep this process alive; it ends on its own once this process is gone.
    child.unref();
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    child.status.then(() => this.#drop(child), () => this.#drop(child));
    return true;
  }

  /** Forgets `child` (dead or unusable) if it is still the guard. */
  #drop(child: Deno.ChildProcess): void {
    if (this.#child !== child) return;
    this.#writer?.abort().catch(() => {/* the pipe is closed either way */});
    this.#child = null;
    this.#writer = null;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

let shared: SharedGroupGuard | undefined;

/**
 * The guard shared by every task group of this process, started with the
 * first one: for a process that runs task after task (managed workers).
 * Its `guard(pgid)` resolves with the same kind of handle as
 * `startGroupGuard`, whose `release` takes the group off the list.
 */
export function sharedGroupGuard(): { guard(pgid: number, log: Logger): Promise<GroupGuard | null> } {
  shared ??= new SharedGroupGuard();
  return shared;
}
