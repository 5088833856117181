/**
 * The group guard shared by all the tasks of a process (managed workers,
 * `shared/exec/group_guard.ts`): its list of groups (added, removed, added
 * again) is what it SIGKILLs when its stdin closes, and a process running
 * task after task keeps one guard, which kills the running task's whole
 * group when that process is SIGKILLed.
 */
import { SHARED_GUARD_SCRIPT } from "../shared/exec/group_guard.ts";
import { isLiving, listProcesses, readProcStat } from "../shared/exec/proc_stat.ts";
import { livingProcesses, uniqueSleep } from "./support/exec.ts";
import { assertEquals, assertTrue } from "./support/assert.ts";

/** Pids of the living (non-zombie) members of process group `pgid`. */
const groupMembers = (pgid: number) => listProcesses().filter((p) => p.pgrp === pgid && isLiving(p)).map((p) => p.pid);

/** Checks `condition` every 20 ms until it holds (true) or `ms` passed (false). */
async function within(ms: number, condition: () => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A `sleep` leading a session (and group) of its own; its pid is the group id. */
function startGroup(): Deno.ChildProcess {
  return new Deno.Command("setsid", { args: ["--", "sleep", uniqueSleep(60)], stdin: "null" }).spawn();
}

Deno.test("shared guard: at end of input it kills the groups listed then, not the ones taken off", async () => {
  const [a, b, c] = [startGroup(), startGroup(), startGroup()];
  const guard = new Deno.Command("/bin/sh", {
    args: ["-c", SHARED_GUARD_SCRIPT, "mitosis-task-guard", "test"],
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    assertTrue(await within(5_000, () => [a, b, c].every((g) => groupMembers(g.pid).length === 1)), "groups run");
    const writer = guard.stdin.getWriter();
    // Middle and first taken off, the first added again: a and c are listed, b is not.
    await writer.write(new TextEncoder().encode(`+${a.pid}\n+${b.pid}\n+${c.pid}\n-${b.pid}\n-${a.pid}\n+${a.pid}\n`));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assertTrue([a, b, c].every((g) => groupMembers(g.pid).length === 1), "nothing is killed before the end");
    await writer.close();
    assertEquals((await guard.status).code, 0);
    assertTrue(await within(2_000, () => groupMembers(a.pid).length === 0 && groupMembers(c.pid).length === 0));
    assertEquals(groupMembers(b.pid).length, 1, "a group taken off the list is left alone");
  } finally {
    for (const g of [a, b, c]) {
      try {
        Deno.kill(-g.pid, "SIGKILL");
      } catch { /* gone */ }
      await g.status;
    }
  }
});

Deno.test("shared guard: one guard for task after task, and a SIGKILLed process takes its running task's group along", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mitosis-shared-guard-" });
  const [child, leader] = [uniqueSleep(60), uniqueSleep(61)];
  const script = `${dir}/runner.ts`;
  const process = new URL("../shared/exec/process.ts", import.meta.url).href;
  const logger = new URL("../shared/log/logger.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { runTaskProcess } from "${process}";
import { createLogger } from "${logger}";
const log = createLogger("test", "warn");
const options = { timeoutMs: 60_000, log, sharedGuard: true };
const env = { PATH: "/usr/bin:/bin" };
for (let i = 0; i < 3; i++) await runTaskProcess({ args: ["true"], env, cwd: "${dir}" }, options);
await runTaskProcess({ args: ["sh", "-c", "sleep ${child} & sleep ${leader}; wait"], env, cwd: "${dir}" }, options);
`,
  );
  const runner = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--no-lock", script],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  try {
    const sleeps = async () =>
      (await livingProcesses("sleep")).filter((l) => l.endsWith(`sleep ${child}`) || l.endsWith(`sleep ${leader}`));
    assertTrue(await within(30_000, async () => (await sleeps()).length === 2), "the last task runs");
    const guards = listProcesses().filter((p) =>
      p.ppid === runner.pid && isLiving(p) &&
      Deno.readTextFileSync(`/proc/${p.pid}/cmdline`).includes("mitosis-task-guard")
    );
    assertEquals(guards.length, 1, "one guard for the four tasks");
    runner.kill("SIGKILL");
    await runner.status;
    assertTrue(await within(2_000, async () => (await sleeps()).length === 0), "the task dies with its runner");
    const guard = guards[0].pid;
    assertTrue(await within(2_000, () => readProcStat(guard) === null || !isLiving(readProcStat(guard)!)));
  } finally {
    try {
      runner.kill("SIGKILL");
    } catch { /* gone */ }
    await runner.status;
    await Deno.remove(dir, { recursive: true });
  }
});
