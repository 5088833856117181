/**
 * The built executables alone, as an operator gets them: the four files
 * copied into a directory outside the repository and run with an empty HOME,
 * PATH=/usr/bin:/bin, no network but loopback (`unshare -n`) and the
 * repository hidden (an empty tmpfs mounted over it), so nothing of Deno,
 * Node, npm, node_modules or a Deno cache can be used. The scenario
 * (`support/built_scenario.sh`): coordinator on embedded PostgreSQL; CLI
 * login; a manager running a suite with setup and cleanup hooks on 2 managed
 * workers, 20 tasks; an independent worker running a standalone task; each
 * daemon stopped with SIGTERM.
 */
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { copyExecutables } from "./support/built.ts";
import { describeProcesses, processesMentioning } from "./support/leftovers.ts";
import { eventually } from "./support/suites.ts";
import { WORKER_V8_FLAGS } from "../shared/runtime/installation.ts";

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const SCENARIO = new URL("./support/built_scenario.sh", import.meta.url).pathname;

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "";
    throw error;
  }
}

test("the built files alone, offline, run a suite with hooks on 2 managed workers and a standalone task", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-built-" });
  try {
    await Deno.chmod(dir, 0o755);
    await copyExecutables(`${dir}/bin`);
    await Deno.copyFile(SCENARIO, `${dir}/scenario.sh`);
    await Deno.mkdir(`${dir}/home`);
    await Deno.mkdir(`${dir}/out`);
    await Deno.chmod(`${dir}/out`, 0o777);

    const wrapper = '/usr/sbin/ip link set lo up && mount -t tmpfs -o ro,size=1m mitosis-hidden "$2" && ' +
      'cd / && exec env -i HOME="$1/home" PATH=/usr/bin:/bin sh "$1/scenario.sh" "$1"';
    const result = await new Deno.Command("/usr/bin/unshare", {
      args: ["-m", "-n", "sh", "-c", wrapper, "sh", dir, REPO],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(300_000),
    }).output();
    const out = `${dir}/out`;
    const logs = async () =>
      `${new TextDecoder().decode(result.stderr)}\n--- coordinator\n${
        (await readText(`${out}/coordinator.log`)).slice(-3000)
      }\n--- manager\n${(await readText(`${out}/manager.log`)).slice(-3000)}\n--- worker\n${
        (await readText(`${out}/worker.log`)).slice(-2000)
      }`;
    assertEquals(result.code, 0, await logs());
    assertEquals(await readText(`${out}/scenario.done`), "done\n");

    // The CLI logged in and knows the user.
    assertIncludes(await readText(`${out}/auth.out`), "mitosis_admin");
    // Setup once, 20 tasks on both managed workers, cleanup once.
    assertEquals(await readText(`${out}/prep`), "prep\n");
    assertEquals(await readText(`${out}/cleanup`), "cleanup\n");
    const workers = new Set<string>();
    for (let i = 1; i <= 20; i++) workers.add((await readText(`${out}/task-${i}`)).trim());
    assertEquals([...workers].sort(), ["0", "1"], "every task ran, on the two managed workers");
    const suite = JSON.parse(await readText(`${out}/suite.json`));
    assertEquals(suite.state_name, "Complete", JSON.stringify(suite));
    assertEquals(suite.total_tasks, 20, JSON.stringify(suite));
    // The standalone task ran on the independent worker.
    assertEquals(await readText(`${out}/standalone`), "standalone\n");
    const task = JSON.parse(await readText(`${out}/standalone.json`));
    assertEquals(task.info?.state ?? task.state, "Finished", JSON.stringify(task));

    // Every daemon ran from the runtime its file extracted, none from the repository, and exited 0.
    const exes = (await readText(`${out}/exes`)).trim().split("\n");
    assertEquals(exes.length, 3);
    for (const exe of exes) {
      assertTrue(exe.startsWith(`${dir}/home/.cache/mitosis/runtime/`), `${exe} is not in the extracted runtime`);
      assertTrue(!exe.startsWith(REPO), exe);
    }
    // The manager ran its workers from its own runtime, with the workers' V8 flags.
    const spawned = (await readText(`${out}/manager.log`)).split("\n").filter((l) =>
      l.includes("managed worker spawned")
    );
    assertTrue(spawned.length >= 2, "two managed workers spawned");
    for (const line of spawned) {
      const args: string[] = JSON.parse(line).args;
      assertTrue(args[0].startsWith(`${dir}/home/.cache/mitosis/runtime/`), args[0]);
      assertTrue(args.includes(WORKER_V8_FLAGS) && args.some((a) => a.endsWith("/app/worker.js")), args.join(" "));
    }
    const codes = (await readText(`${out}/exit-codes`)).trim().split("\n").map((line) => line.split(" ")[1]);
    assertEquals(codes, ["0", "0", "0"], await logs());
    // Nothing it started is left: no process mentions the test directory.
    await eventually("the scenario's processes to end", () => processesMentioning(dir).length === 0, 10_000)
      .catch((error) => {
        throw new Error(`${error.message}:\n${describeProcesses(processesMentioning(dir))}`);
      });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
