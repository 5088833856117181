/**
 * Liveness of the process at the other end of an `iceoryx` connection.
 * Shared memory carries no end-of-file, so each side tells the other its pid
 * and the receiver watches that process: a pid plus its start time (from
 * `/proc/<pid>/stat`) names one process, even after the pid is reused.
 */

/** A process: pid and start time in clock ticks since boot. */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

/** The start time of `pid`, or null when no such process exists (or /proc cannot tell). */
function startTime(pid: number): string | null {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // The command name (field 2) is parenthesised and may contain anything: count fields after its last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Field 22 (starttime) is the 20th after the command name; field 3 (state) is the first.
  const value = fields[19];
  if (fields[0] === "Z" || fields[0] === "X") return null; // a zombie has exited
  return value ?? null;
}

/** The identity of the live process `pid`, or null when there is none. */
export function identify(pid: number): ProcessIdentity | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const start = startTime(pid);
  return start === null ? null : { pid, startTime: start };
}

/** Whether the process named by `identity` is still alive (not exited, not a zombie, pid not reused). */
export function stillAlive(identity: ProcessIdentity): boolean {
  return startTime(identity.pid) === identity.startTime;
}
