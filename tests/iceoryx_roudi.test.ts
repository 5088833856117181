/**
 * RouDi management (`shared/ipc/iceoryx/roudi.ts`): the reachability check
 * without `iox_runtime_init`, starting and stopping a RouDi with nothing
 * left behind, sharing one that runs, recovering after a SIGKILLed one, and
 * clear errors. RouDi is one per machine: every test stops what it started,
 * and these tests need no other RouDi to run meanwhile.
 */
import { createLogger, type LogLevel } from "../shared/log/logger.ts";
import {
  acquireRoudi,
  ICEORYX_MANAGEMENT_SHM,
  ROUDI_LOCK_PATH,
  ROUDI_SOCKET_PATH,
  roudiConfig,
  type RoudiDaemon,
  RoudiError,
  roudiMempools,
  roudiReachable,
  startRoudi,
} from "../shared/ipc/iceoryx/roudi.ts";
import { MAX_IPC_MESSAGE_BYTES } from "../shared/ipc/limits.ts";
import { assertEquals, assertIncludes, assertRejects, assertTrue } from "./support/assert.ts";
import { ensureIceoryxInstalled } from "./support/iceoryx.ts";
import { test } from "./support/test.ts";

const logLevel = (Deno.env.get("MITOSIS_TEST_LOG_LEVEL") ?? "off") as LogLevel;
const log = createLogger("roudi-test", logLevel);
const install = await ensureIceoryxInstalled();
/** The payload segment's /dev/shm name: the group of RouDi's process, which is ours. */
const group = new TextDecoder().decode(
  (await new Deno.Command("id", { args: ["-gn"], stdout: "piped" }).output()).stdout,
)
  .trim();

/** A test that needs iceoryx installed and no RouDi running when it starts. */
function roudiTest(name: string, fn: () => Promise<void>): void {
  test(name, async () => {
    if (!install.ok) throw new Error(`iceoryx is not usable: ${install.reason}`);
    assertTrue(!(await roudiReachable()), "another RouDi runs on this machine; these tests need none");
    await fn();
  });
}

/** Whether process `pid` exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !["Z", "X"].includes(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]);
  } catch {
    return false;
  }
}

/** Whether `path` exists (without following a symbolic link). */
function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The config dir of a running RouDi, from its `-c` argument. */
function configDir(pid: number): string {
  const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
  const config = argv[argv.indexOf("-c") + 1];
  return config.slice(0, config.lastIndexOf("/"));
}

/** The iceoryx files in /dev/shm and /tmp that exist. */
function iceoryxFiles(): string[] {
  const shm = [`/dev/shm/${ICEORYX_MANAGEMENT_SHM}`, `/dev/shm/${group}`];
  return [...shm, ROUDI_SOCKET_PATH, ROUDI_LOCK_PATH, "/tmp/roudi.lock"].filter(exists);
}

/**
 * Waits until child `pid` is reaped (at most `timeoutMs`). Not just a zombie:
 * a killed multi-threaded process shows state Z while its other threads
 * still hold its descriptors (RouDi's socket and lock).
 */
async function waitReaped(pid: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (exists(`/proc/${pid}`) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assertTrue(!exists(`/proc/${pid}`), `process ${pid} not reaped`);
}

/** Runs `fn` with a started RouDi and stops it afterwards whatever happens. */
async function withRoudi(fn: (roudi: RoudiDaemon) => Promise<void>, workers = 2): Promise<void> {
  const roudi = await startRoudi({ workers, log });
  try {
    await fn(roudi);
  } finally {
    await roudi.stop();
  }
}

test("roudi: config mempools are ascending multiples of 8 and fit the largest message", () => {
  for (const workers of [1, 16, 64]) {
    const pools = roudiMempools(workers);
    for (const [i, pool] of pools.entries()) {
      assertEquals(pool.size % 8, 0, `size ${pool.size}`);
      if (i > 0) assertTrue(pool.size > pools[i - 1].size, "ascending sizes");
    }
    assertTrue(pools[pools.length - 1].size >= MAX_IPC_MESSAGE_BYTES + 64, "room for a whole frame");
    const total = pools.reduce((sum, pool) => sum + pool.size * pool.count, 0);
    assertEquals(total, 89_145_344 + 393_216 * workers, "the total documented in roudiMempools");
  }
  const text = roudiConfig(4);
  assertIncludes(text, "[general]\nversion = 1");
  assertIncludes(text, "[[segment]]");
  assertIncludes(text, "[[segment.mempool]]\nsize = 4096\ncount = 384");
});

roudiTest("roudi: with none running, roudiReachable is false at once", async () => {
  const started = performance.now();
  assertEquals(await roudiReachable(2000), false);
  assertTrue(performance.now() - started < 200, `took ${performance.now() - started} ms`);
});

roudiTest("roudi: startRoudi runs one that answers, stop() ends it and leaves nothing behind", async () => {
  const before = iceoryxFiles();
  const roudi = await startRoudi({ workers: 2, log });
  let dir = "";
  try {
    assertTrue(roudi.started);
    assertTrue(roudi.pid !== null && alive(roudi.pid), "RouDi runs");
    assertTrue(await roudiReachable(), "reachable once started");
    dir = configDir(roudi.pid!);
    assertEquals((Deno.statSync(dir).mode! & 0o777).toString(8), "700");
    assertTrue(exists(`/dev/shm/${ICEORYX_MANAGEMENT_SHM}`), "management segment");
    assertTrue(exists(`/dev/shm/${group}`), "payload segment named after the group");
  } finally {
    await roudi.stop();
  }
  await roudi.stop(); // idempotent
  assertTrue(!alive(roudi.pid!), "RouDi is gone");
  assertEquals(await roudiReachable(), false);
  assertTrue(!exists(dir), `config dir ${dir} removed`);
  assertEquals(iceoryxFiles(), before, "no iceoryx files left");
});

roudiTest("roudi: acquireRoudi shares a running RouDi and its stop() leaves it running", async () => {
  await withRoudi(async (owner) => {
    const shared = await acquireRoudi({ workers: 1, log });
    assertEquals(shared.started, false);
    assertEquals(shared.pid, null);
    await shared.stop();
    assertTrue(alive(owner.pid!), "the running RouDi still runs");
    assertTrue(await roudiReachable(), "and still answers");
  });
  assertEquals(await roudiReachable(), false);
});

roudiTest("roudi: acquireRoudi starts one when none runs", async () => {
  const roudi = await acquireRoudi({ workers: 1, log });
  try {
    assertTrue(roudi.started);
    assertTrue(await roudiReachable());
  } finally {
    await roudi.stop();
  }
  assertEquals(await roudiReachable(), false);
});

roudiTest("roudi: after a SIGKILLed RouDi, roudiReachable is false and a fresh one starts", async () => {
  const before = iceoryxFiles();
  const killed = await startRoudi({ workers: 1, log });
  try {
    Deno.kill(killed.pid!, "SIGKILL");
    await waitReaped(killed.pid!);
    assertTrue(exists(ROUDI_SOCKET_PATH) && exists(`/dev/shm/${ICEORYX_MANAGEMENT_SHM}`), "stale files left");
    const started = performance.now();
    assertEquals(await roudiReachable(2000), false, "stale files are not a RouDi");
    assertTrue(performance.now() - started < 200, `took ${performance.now() - started} ms`);
    await withRoudi(async (fresh) => {
      assertTrue(await roudiReachable(), "the fresh RouDi answers");
      await killed.stop(); // must not remove the fresh RouDi's files
      assertTrue(alive(fresh.pid!) && await roudiReachable(), "the fresh RouDi is untouched");
    }, 1);
  } finally {
    await killed.stop();
  }
  assertEquals(await roudiReachable(), false);
  assertEquals(iceoryxFiles(), before, "no iceoryx files left");
});

roudiTest("roudi: a SIGKILLed RouDi's stop() removes what it left", async () => {
  const before = iceoryxFiles();
  const killed = await startRoudi({ workers: 1, log });
  Deno.kill(killed.pid!, "SIGKILL");
  await killed.stop();
  assertEquals(iceoryxFiles(), before, "stale shm, socket and lock files removed");
});

roudiTest("roudi: a missing binary is a RoudiError naming it", async () => {
  const error = await assertRejects(() => startRoudi({ workers: 1, log, binary: "/nonexistent/iox-roudi" }));
  assertTrue(error instanceof RoudiError, `${error}`);
  assertIncludes(error.message, "/nonexistent/iox-roudi");
});

roudiTest("roudi: a binary that exits or never gets ready is a RoudiError with its output", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mitosis-roudi-test-" });
  try {
    const failing = `${dir}/failing`;
    await Deno.writeTextFile(failing, "#!/bin/sh\necho 'config rejected' >&2\nexit 3\n", { mode: 0o755 });
    const exited = await assertRejects(() => startRoudi({ workers: 1, log, binary: failing }));
    assertTrue(exited instanceof RoudiError, `${exited}`);
    assertIncludes(exited.message, "exited before it was ready");
    assertIncludes(exited.message, "config rejected");

    const silent = `${dir}/silent`;
    await Deno.writeTextFile(silent, "#!/bin/sh\necho starting\nexec sleep 30\n", { mode: 0o755 });
    const slow = await assertRejects(() => startRoudi({ workers: 1, log, binary: silent, readyTimeoutMs: 300 }));
    assertTrue(slow instanceof RoudiError, `${slow}`);
    assertIncludes(slow.message, "not ready within 300 ms");
    assertIncludes(slow.message, "starting");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
