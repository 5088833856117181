/**
 * Finding processes a test left behind: living processes whose command line
 * or environment mention a marker unique to the test (its temporary
 * directory), read from `/proc`.
 */

/**
 * Pids of living processes (not zombies) whose command line or environment
 * contains `text` (read from `/proc`; processes that exit while being read,
 * or of other users, are skipped).
 */
export function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name) || Number(entry.name) === Deno.pid) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
      if (state === "Z" || state === "X") continue;
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      const environ = Deno.readTextFileSync(`/proc/${entry.name}/environ`);
      if (cmdline.includes(text) || environ.includes(text)) found.push(Number(entry.name));
    } catch {
      continue;
    }
  }
  return found;
}

/** What each process of `pids` runs, for failure messages. */
export function describeProcesses(pids: number[]): string {
  return pids.map((pid) => {
    try {
      return `${pid}: ${Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ")}`;
    } catch {
      return `${pid}: (exited)`;
    }
  }).join("\n");
}
