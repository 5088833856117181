/**
 * A node manager with `--ipc iceoryx` on real processes: it starts a RouDi
 * daemon sized for its workers, runs a suite over shared memory (a worker
 * SIGKILLed in the middle is respawned and its task retried), reports its
 * transport in the heartbeat metrics, and leaves no RouDi, shared-memory
 * segment or worker behind when it stops. iceoryx is installed with apt-get
 * first when missing.
 */
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { ensureIceoryxInstalled } from "./support/iceoryx.ts";
import { processesWithEnv, spawnManager } from "./support/manager.ts";
import { ALICE, appendedLines, countBy, createSuite, setupSuites, submit, suiteComplete } from "./support/suites.ts";
import { test } from "./support/test.ts";
import { ICEORYX_MANAGEMENT_SHM, roudiReachable } from "../shared/ipc/iceoryx/roudi.ts";

const installed = await ensureIceoryxInstalled();

/** Whether process `pid` exists (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

if (!installed.ok) {
  Deno.test({ name: `manager over iceoryx (not run: ${installed.reason})`, ignore: true, fn: () => {} });
} else {
  test("a manager with --ipc iceoryx runs a suite over shared memory with a worker killed midway, and leaves no RouDi, segment or worker", async () => {
    assertTrue(!await roudiReachable(), "no RouDi runs before the test (the manager must start its own)");
    const { coord, alice } = await setupSuites();
    await using _coord = coord;
    const dir = await Deno.makeTempDir({ prefix: "mitosis-test-iceoryx-" });
    try {
      const suite = await createSuite(coord.url, alice, { worker_count: 3, task_prefetch_count: 4 });
      const plain = await submit(
        coord.url,
        alice,
        suite,
        Array.from({ length: 30 }, () => ["sh", "-c", `echo "$MITO_TASK_UUID" >> ${dir}/done`]),
      );
      // Kills its own worker on the first attempt (leaving a flag), finishes on the retry.
      const [victim] = await submit(coord.url, alice, suite, [[
        "sh",
        "-c",
        `if [ -e ${dir}/killed ]; then echo "$MITO_TASK_UUID" >> ${dir}/done; ` +
        `else touch ${dir}/killed; kill -KILL $MITOSIS_WORKER_PID; sleep 30; fi`,
      ]]);

      await using manager = await spawnManager(coord.url, {
        ...ALICE,
        args: ["--max-workers", "3", "--ipc", "iceoryx"],
      });
      await manager.waitConnected();
      const chosen = await manager.waitForLog((l) => l.msg === "IPC transport chosen", 30_000, "the IPC choice");
      assertEquals(chosen.ipc, "iceoryx");
      const spawned = await manager.waitForLog((l) => l.msg === "iox-roudi spawned", 1000, "RouDi's spawn");
      const roudiPid = Number(spawned.pid);
      assertTrue(alive(roudiPid), "the manager's RouDi runs");

      const done = await suiteComplete(coord.url, alice, suite, 180_000);
      assertEquals([done.total_tasks, done.pending_tasks], [31, 0]);
      const lines = await appendedLines(`${dir}/done`);
      assertEquals([...countBy(lines).values()].filter((n) => n > 1), [], "no task finished twice");
      assertEquals(
        new Set(lines),
        new Set([...plain, victim]),
        "every task finished once, the killed one on its retry",
      );

      const started = await manager.waitForLog((l) => l.msg === "suite execution started", 1000, "the execution");
      assertTrue(String(started.ipc).startsWith("iceoryx:"), `workers got an iceoryx address: ${started.ipc}`);
      const spawns = manager.logs().filter((l) => l.msg === "managed worker spawned").length;
      assertTrue(spawns >= 4, `3 workers spawned and the killed one respawned (${spawns} spawns)`);
      await manager.waitForLog(
        (l) => l.msg === "heartbeat acknowledged" && l.ipc_transport === "iceoryx",
        10_000,
        "a heartbeat reporting ipc_transport iceoryx",
      );

      assertEquals(await manager.stop(), 0, "the manager exits 0 on SIGTERM");
      assertTrue(!alive(roudiPid), "the manager's RouDi is gone");
      assertTrue(!await roudiReachable(), "no RouDi answers");
      const shm = [...Deno.readDirSync("/dev/shm")].map((e) => e.name).filter((name) =>
        name === ICEORYX_MANAGEMENT_SHM || name.startsWith("iox")
      );
      assertEquals(shm, [], "no iceoryx shared-memory segment left");
      assertEquals(processesWithEnv("MITOSIS_TASK_SUITE_UUID", suite), [], "no worker left");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  test("a manager told --ipc iceoryx that cannot have it exits 2 naming why: library missing, or RouDi not startable", async () => {
    assertTrue(!await roudiReachable(), "no RouDi runs before the test");
    const { coord } = await setupSuites();
    await using _coord = coord;
    await using noLibrary = await spawnManager(coord.url, {
      ...ALICE,
      args: ["--ipc", "iceoryx"],
      env: { MITOSIS_ICEORYX_LIB: "/nonexistent/libiceoryx_binding_c.so.2" },
      waitConnected: false,
    });
    assertEquals(await noLibrary.waitExit(60_000), 2, noLibrary.stderr().slice(-2000));
    assertIncludes(noLibrary.stderr(), "manager.ipc:");
    assertIncludes(noLibrary.stderr(), "/nonexistent/libiceoryx_binding_c.so.2");

    await using noRoudi = await spawnManager(coord.url, {
      ...ALICE,
      args: ["--ipc", "iceoryx"],
      env: { MITOSIS_IOX_ROUDI: "/nonexistent/iox-roudi" },
      waitConnected: false,
    });
    assertEquals(await noRoudi.waitExit(60_000), 2, noRoudi.stderr().slice(-2000));
    assertIncludes(noRoudi.stderr(), "needs a RouDi daemon");
    assertTrue(!await roudiReachable(), "no RouDi was left running");
  });
}
