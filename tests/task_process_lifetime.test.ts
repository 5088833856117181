/**
 * A task's process group never outlives its worker: a SIGKILLed independent
 * worker takes its task's whole group along (the leader by its parent-death
 * signal, the rest by the group guard), as root and as the task user; a
 * worker started after one whose task group survived (guard killed too)
 * kills the recorded group at start, and leaves alone the groups recorded by
 * living workers and recorded ids now taken by other groups. Real
 * coordinator, real `mitosis-worker` processes, real task processes.
 */
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { livingProcesses, uniqueSleep } from "./support/exec.ts";
import { call, createUser, login } from "./support/http.ts";
import { spawnWorker } from "./support/worker.ts";
import { test } from "./support/test.ts";
import { killLeftoverGroups, type TaskGroupRecord } from "../shared/exec/group_records.ts";
import { bootId, isLiving, listProcesses, readProcStat } from "../shared/exec/proc_stat.ts";
import { lookupUser } from "../shared/exec/task_user.ts";
import { createLogger } from "../shared/log/logger.ts";

/** Submits `args` to alice's group with a 1 min timeout. */
async function submit(url: string, token: string, args: string[]): Promise<void> {
  const res = await call(url, "POST", "/tasks", {
    token,
    body: { group_name: "alice", timeout: "1m", tags: [], task_spec: { args, terminal_output: false } },
  });
  assertEquals(res.status, 200, res.text);
}

/** Checks `condition` every 20 ms until it holds (true) or `ms` passed (false). */
async function within(ms: number, condition: () => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Pids of the living (non-zombie) members of process group `pgid`. */
const groupMembers = (pgid: number) => listProcesses().filter((p) => p.pgrp === pgid && isLiving(p)).map((p) => p.pid);

/** Pids of the living processes whose command line ends with `marker`. */
async function pidsOf(marker: string): Promise<number[]> {
  const lines = (await livingProcesses(marker)).filter((line) => line.endsWith(marker));
  return lines.map((line) => Number(line.split(/\s+/)[0]));
}

/** Pid of the one living process whose command line ends with `marker`. */
async function pidOf(marker: string): Promise<number> {
  const pids = await pidsOf(marker);
  assertEquals(pids.length, 1, `processes ending with ${marker}: ${pids}`);
  return pids[0];
}

for (const taskUser of ["root", "mitosis-task"]) {
  test(`a SIGKILLed worker's task group (a shell and its child sleep, tasks as ${taskUser}) is gone within 2 s`, async () => {
    await using coord = await startTestCoordinator();
    const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
    const token = await createUser(coord.url, admin, "alice", "alice-pw");
    await using worker = await spawnWorker(coord.url, {
      user: "alice",
      password: "alice-pw",
      env: { MITOSIS_TASK_USER: taskUser },
    });
    const [child, leader] = [uniqueSleep(30), uniqueSleep(31)];
    await submit(coord.url, token, ["sh", "-c", `sleep ${child} & sleep ${leader}; wait`]);
    assertTrue(
      await within(30_000, async () => (await pidsOf(`sleep ${child}`)).length === 1),
      `the task starts:\n${worker.stderr()}`,
    );
    const childPid = await pidOf(`sleep ${child}`);
    const pgid = readProcStat(childPid)!.pgrp;
    assertTrue(
      await within(5_000, () => groupMembers(pgid).length === 3),
      `shell and two sleeps: ${groupMembers(pgid)}`,
    );
    const guard = await pidOf(`mitosis-task-guard ${pgid}`);
    if (taskUser !== "root") {
      const uid = (await lookupUser(taskUser))!.uid;
      assertEquals(Deno.readTextFileSync(`/proc/${childPid}/status`).match(/^Uid:\s+(\d+)/m)?.[1], String(uid));
    }

    worker.kill("SIGKILL");
    assertTrue((await worker.waitExit(10_000)) !== null, "the worker is dead");
    assertTrue(await within(2_000, () => groupMembers(pgid).length === 0), `left alive: ${groupMembers(pgid)}`);
    assertTrue(await within(2_000, () => readProcStat(guard) === null || !isLiving(readProcStat(guard)!)));
  });
}

/** Starts `sh -c script` as the leader of a new session (util-linux setsid); its pid is the group id. */
function startGroup(script: string): Deno.ChildProcess {
  return new Deno.Command("setsid", { args: ["--", "sh", "-c", script], stdin: "null" }).spawn();
}

/** Writes the record of group `pgid` into `dir` as worker `owner` would. */
async function writeRecord(dir: string, owner: { pid: number; start_time: number }, pgid: number, start: number) {
  const record: TaskGroupRecord = { boot_id: bootId(), owner, pgid, start_time: start, task: `task-of-${pgid}` };
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(`${dir}/${owner.pid}-${pgid}.json`, JSON.stringify(record));
}

/** A pid that no process has any more (a `true` that exited), with an impossible start time. */
async function deadOwner(): Promise<{ pid: number; start_time: number }> {
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  return { pid: gone.pid, start_time: 0 };
}

test("a worker started after one whose task group survived kills the recorded group and keeps a living worker's", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  await createUser(coord.url, admin, "alice", "alice-pw");
  const root = await Deno.makeTempDir({ prefix: "mitosis-test-leftover-" });
  const running = `${root}/cache/running`;
  const leftover = startGroup(`sleep ${uniqueSleep(60)} & sleep ${uniqueSleep(61)}; wait`);
  const living = startGroup(`sleep ${uniqueSleep(62)}`);
  try {
    assertTrue(await within(5_000, () => groupMembers(leftover.pid).length === 3), "the leftover group runs");
    assertTrue(await within(5_000, () => groupMembers(living.pid).length >= 1), "the living worker's group runs");
    await writeRecord(running, await deadOwner(), leftover.pid, readProcStat(leftover.pid)!.startTime);
    // This test process stands for a worker still running, sharing the records dir.
    const self = { pid: Deno.pid, start_time: readProcStat(Deno.pid)!.startTime };
    await writeRecord(running, self, living.pid, readProcStat(living.pid)!.startTime);

    await using worker = await spawnWorker(coord.url, {
      user: "alice",
      password: "alice-pw",
      cacheRoot: `${root}/cache`,
    });
    // Leftovers are killed before the worker registers.
    assertEquals(groupMembers(leftover.pid), []);
    assertIncludes(worker.stderr(), "killing the process group of a task left by a worker that died");
    assertIncludes(worker.stderr(), `task-of-${leftover.pid}`);
    assertTrue(groupMembers(living.pid).length >= 1, "a living worker's task is left alone");
    assertEquals([...Deno.readDirSync(running)].map((e) => e.name), [`${Deno.pid}-${living.pid}.json`]);
  } finally {
    for (const child of [leftover, living]) {
      try {
        Deno.kill(-child.pid, "SIGKILL");
      } catch {
        // gone already
      }
      await child.status;
    }
    await Deno.remove(root, { recursive: true });
  }
});

test("a recorded group id now taken by an older group is not killed; its record is dropped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-leftover-" });
  const marker = uniqueSleep(60);
  const group = startGroup(`sleep ${marker}`);
  try {
    assertTrue(await within(5_000, async () => (await pidsOf(`sleep ${marker}`)).length > 0), "the group runs");
    const members = groupMembers(group.pid);
    // The record says its leader started after every process now in the group: the id was reused.
    await writeRecord(dir, await deadOwner(), group.pid, readProcStat(group.pid)!.startTime + 1);
    const killed = await killLeftoverGroups(dir, createLogger("worker", "error"));
    assertEquals(killed, []);
    assertEquals(groupMembers(group.pid), members);
    assertEquals([...Deno.readDirSync(dir)], []);
  } finally {
    Deno.kill(-group.pid, "SIGKILL");
    await group.status;
    await Deno.remove(dir, { recursive: true });
  }
});
