/**
 * Execution evidence of the chaos case: every task is a bash script that,
 * each time it runs, appends a `start` line when it begins and an `end` line
 * when it finishes to a file named after the worker process running it
 * (`m_<manager uuid>_<local id>_<worker pid>` for a managed worker,
 * `w_<name>` for an independent one), each line with the time, the task's
 * uuid and an id of that execution (`<shell pid>.<random>`). Appends of one
 * short line are atomic, and a worker runs one task at a time, so the lines
 * of one execution never interleave with another's.
 *
 * From those files: every execution of every task, whether it ran to its
 * end, and on which worker process.
 */

/** Who ran an execution: a managed worker process or an independent worker. */
export type Runner =
  | { kind: "managed"; managerUuid: string; localId: number; workerPid: number }
  | { kind: "independent"; name: string };

/** One execution of a task. */
export interface Execution {
  task: string;
  id: string;
  runner: Runner;
  /** Evidence file it was written to. */
  file: string;
  /** Start and end times (ms since the epoch); `end` null when it never finished (killed). */
  start: number;
  end: number | null;
}

/** The bash script a task runs: evidence lines around a pause read from `<dir>/<paceFile>` (seconds, 0 = none). */
export function taskScript(dir: string, paceFile: string): string {
  if (!/^[\w/.@+-]+$/.test(dir)) throw new Error(`the case directory must be a plain path: ${dir}`);
  return [
    `if [ -n "$MITOSIS_NODE_MANAGER_ID" ]; then w="m_\${MITOSIS_NODE_MANAGER_ID}_\${MITOSIS_WORKER_LOCAL_ID}_\${MITOSIS_WORKER_PID}"; else w="w_\${CHAOS_WORKER}"; fi`,
    `f=${dir}/evidence/$w`,
    `e=$$.$SRANDOM`,
    `echo "start $EPOCHREALTIME $MITO_TASK_UUID $e" >> "$f"`,
    `read -r p < ${dir}/${paceFile}`,
    `if [ "$p" != 0 ]; then sleep "$p"; fi`,
    `echo "end $EPOCHREALTIME $MITO_TASK_UUID $e" >> "$f"`,
  ].join("; ");
}

/** Parses an evidence file's name. */
export function runnerOf(file: string): Runner | null {
  const managed = /^m_([0-9a-f-]{36})_(\d+)_(\d+)$/.exec(file);
  if (managed) {
    return { kind: "managed", managerUuid: managed[1], localId: Number(managed[2]), workerPid: Number(managed[3]) };
  }
  const independent = /^w_(.+)$/.exec(file);
  return independent ? { kind: "independent", name: independent[1] } : null;
}

/** `$EPOCHREALTIME` (seconds with a fraction, `.` or `,`) in ms. */
function epochMs(text: string): number {
  return Math.round(Number(text.replace(",", ".")) * 1000);
}

/** Executions recorded in one evidence file. */
export function parseEvidence(file: string, text: string): Execution[] {
  const runner = runnerOf(file);
  if (runner === null) return [];
  const byId = new Map<string, Execution>();
  for (const line of text.split("\n")) {
    const [what, time, task, id] = line.split(" ");
    if (id === undefined) continue;
    if (what === "start") {
      byId.set(id, { task, id, runner, file, start: epochMs(time), end: null });
    } else if (what === "end") {
      const execution = byId.get(id);
      if (execution !== undefined) execution.end = epochMs(time);
    }
  }
  return [...byId.values()];
}

/** Every execution recorded under `<dir>/evidence`. */
export async function readEvidence(dir: string): Promise<Execution[]> {
  const executions: Execution[] = [];
  for await (const entry of Deno.readDir(`${dir}/evidence`)) {
    if (!entry.isFile) continue;
    executions.push(...parseEvidence(entry.name, await Deno.readTextFile(`${dir}/evidence/${entry.name}`)));
  }
  return executions.sort((a, b) => a.start - b.start);
}

/** Executions of `dir`'s evidence files whose name starts with `prefix`. */
export async function readEvidenceOf(dir: string, prefix: string): Promise<Execution[]> {
  const executions: Execution[] = [];
  for await (const entry of Deno.readDir(`${dir}/evidence`)) {
    if (!entry.isFile || !entry.name.startsWith(prefix)) continue;
    try {
      executions.push(...parseEvidence(entry.name, await Deno.readTextFile(`${dir}/evidence/${entry.name}`)));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return executions.sort((a, b) => a.start - b.start);
}

/** Executions grouped by task uuid. */
export function byTask(executions: Execution[]): Map<string, Execution[]> {
  const map = new Map<string, Execution[]>();
  for (const execution of executions) {
    const list = map.get(execution.task);
    if (list === undefined) map.set(execution.task, [execution]);
    else list.push(execution);
  }
  return map;
}
