/**
 * One manager per machine (per state dir): the manager holds an exclusive
 * flock(2) on `<state_dir>/manager.lock` for its whole life and writes its
 * pid into the file. The kernel drops the lock when the process dies, however
 * it dies, so a stale file never blocks a new manager; the pid is only there
 * to name the holder in the error message.
 */

/** Another manager holds the lock. */
export class ManagerLockedError extends Error {
  /** Pid of the holder as written in the lock file, when readable. */
  readonly holderPid: number | null;
  constructor(path: string, holderPid: number | null) {
    super(
      `another mitosis-manager${holderPid === null ? "" : ` (pid ${holderPid})`} is running with this state dir ` +
        `(lock ${path} is held); run one manager per machine or give this one another --state-dir`,
    );
    this.name = "ManagerLockedError";
    this.holderPid = holderPid;
  }
}

/** A held manager lock. */
export interface ManagerLock {
  readonly path: string;
  /** Releases the lock (also released by the kernel when the process exits). */
  release(): void;
}

/** The lock file of a state dir. */
export function lockPath(stateDir: string): string {
  return `${stateDir}/manager.lock`;
}

function readPid(file: Deno.FsFile): number | null {
  const buffer = new Uint8Array(32);
  try {
    file.seekSync(0, Deno.SeekMode.Start);
    const n = file.readSync(buffer) ?? 0;
    const pid = Number(new TextDecoder().decode(buffer.subarray(0, n)).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null; // unreadable pid: the message just omits it
  }
}

/**
 * Takes the exclusive lock of `stateDir` (created with mode 0700 if
 * missing); throws `ManagerLockedError` when another manager holds it.
 */
export function acquireManagerLock(stateDir: string): ManagerLock {
  Deno.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = lockPath(stateDir);
  const file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  let locked: boolean;
  try {
    locked = file.tryLockSync(true);
  } catch (error) {
    file.close();
    throw error;
  }
  if (!locked) {
    const pid = readPid(file);
    file.close();
    throw new ManagerLockedError(path, pid);
  }
  file.truncateSync(0);
  file.seekSync(0, Deno.SeekMode.Start);
  file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      file.unlockSync();
      file.close();
    },
  };
}
