/**
 * Task code cannot take the identity of whoever runs the daemons: run as
 * root (as these tests are), a manager's hooks and tasks and an independent
 * worker's tasks run as the unprivileged task user, which cannot read the
 * manager token, the credential cache or the daemon's environment; daemons
 * keep only their own token (the user's is never cached); a password on the
 * command line is logged as a warning. Real coordinator, manager, workers.
 */
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { call } from "./support/http.ts";
import { spawnManager } from "./support/manager.ts";
import { spawnWorker } from "./support/worker.ts";
import { lookupUser } from "../shared/exec/task_user.ts";
import { saveCredential } from "../shared/client/credentials.ts";
import {
  ALICE,
  createSuite,
  eventually,
  getManager,
  managerIdle,
  setupSuites,
  submit,
  suiteComplete,
} from "./support/suites.ts";
import { test } from "./support/test.ts";

/** Opts the daemons of these tests back into the default task user (the harness opts out). */
const DROP = { MITOSIS_TASK_USER: "mitosis-task" };

/** A directory anyone may write in: the task user reports what it saw there. */
async function sharedOutDir(): Promise<string> {
  const out = await Deno.makeTempDir({ prefix: "mitosis-test-task-user-" });
  await Deno.chmod(out, 0o777);
  return out;
}

/** The text of `${out}/${name}`, trimmed. */
const read = async (out: string, name: string) => (await Deno.readTextFile(`${out}/${name}`)).trim();

/**
 * Shell code that tries to read `path` and records in `${out}/${name}` the
 * exit status of `cat` and its error message.
 */
function tryRead(path: string, out: string, name: string): string {
  return `cat ${path} > /dev/null 2> ${out}/${name}.err; echo $? > ${out}/${name}`;
}

test("as root, a manager's hooks and tasks run as the task user, which cannot read its token, the credential cache or its environment", async () => {
  const { coord, alice } = await setupSuites();
  await using _coord = coord;
  const out = await sharedOutDir();
  const home = await Deno.makeTempDir({ prefix: "mitosis-test-manager-" });
  try {
    // The user logged in with the CLI on this machine: bob's token is in the cache (0600 in a 0700 dir).
    const credentials = `${home}/config/mitosis/credentials`;
    await saveCredential(credentials, "bob", "bobs-cached-token");
    await Deno.writeTextFile(`${home}/password`, `${ALICE.password}\n`, { mode: 0o600 });
    await using manager = await spawnManager(coord.url, {
      user: ALICE.user,
      dir: home,
      args: ["--password-file", `${home}/password`],
      env: DROP,
    });
    const uuid = await manager.waitConnected();
    await eventually("the manager to be Idle", async () => (await getManager(coord.url, alice, uuid)).state === "Idle");
    const identity = `${manager.stateDir}/identity.json`;
    const environ = `/proc/${manager.process.pid}/environ`;
    const suite = await createSuite(coord.url, alice, {
      worker_count: 1,
      env_preparation: { args: ["sh", "-c", `id -u > ${out}/hook-uid && touch prepared`], timeout: "1m" },
    });
    await submit(coord.url, alice, suite, [[
      "sh",
      "-c",
      [
        `id -u > ${out}/task-uid`,
        `echo $HOME > ${out}/task-home`,
        `touch $MITO_RESULT_DIR/written && echo yes > ${out}/result-writable`,
        tryRead(identity, out, "identity"),
        tryRead(credentials, out, "credentials"),
        tryRead(environ, out, "environ"),
      ].join("; "),
    ]]);
    await suiteComplete(coord.url, alice, suite);
    await managerIdle(coord.url, alice, uuid);

    const taskUser = await lookupUser("mitosis-task");
    assertTrue(taskUser !== null, "the manager created the task user");
    assertTrue(taskUser.uid !== 0);
    assertEquals(await read(out, "hook-uid"), String(taskUser.uid));
    assertEquals(await read(out, "task-uid"), String(taskUser.uid));
    assertEquals(await read(out, "task-home"), taskUser.home);
    assertEquals(await read(out, "result-writable"), "yes");
    for (const name of ["identity", "credentials", "environ"]) {
      assertTrue((await read(out, name)) !== "0", `the task read the manager's ${name}`);
      assertIncludes(await read(out, `${name}.err`), "Permission denied");
    }
    // The files are there and hold secrets: the task was refused, not missing them.
    assertIncludes(await Deno.readTextFile(identity), '"token"');
    assertEquals((await Deno.stat(identity)).mode! & 0o777, 0o600);
    // The manager kept only its own token: the cache still holds bob alone.
    assertEquals((await Deno.readTextFile(credentials)).trim(), "bob:bobs-cached-token");
    // The password came from a file: nothing to warn about.
    assertEquals(manager.logs().filter((l) => String(l.msg).startsWith("password given on the command line")), []);
    assertEquals(await manager.stop(), 0);
  } finally {
    await Deno.remove(out, { recursive: true });
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
});

test("as root, an independent worker's task runs as the task user in a 0700 work dir it owns; the user's token is not cached", async () => {
  const { coord, alice } = await setupSuites();
  await using _coord = coord;
  const out = await sharedOutDir();
  try {
    await using worker = await spawnWorker(coord.url, { ...ALICE, env: DROP });
    const res = await call(coord.url, "POST", "/tasks", {
      token: alice,
      body: {
        group_name: "alice",
        timeout: "1m",
        tags: [],
        task_spec: {
          args: [
            "sh",
            "-c",
            `id -u > ${out}/uid; stat -c '%a %U' . > ${out}/cwd; echo hi > $MITO_RESULT_DIR/hello`,
          ],
        },
      },
    });
    assertEquals(res.status, 200, res.text);
    const uuid = (res.body as { uuid: string }).uuid;
    const result = await eventually("the task to be archived", async () => {
      const task = await call(coord.url, "GET", `/tasks/${uuid}`, { token: alice });
      const info = (task.body as { info: { result: { exit_status: number } | null } }).info;
      return info.result;
    }, 60_000);
    assertEquals(result.exit_status, 0);

    const taskUser = await lookupUser("mitosis-task");
    assertTrue(taskUser !== null && taskUser.uid !== 0);
    assertEquals(await read(out, "uid"), String(taskUser.uid));
    assertEquals(await read(out, "cwd"), "700 mitosis-task");
    // The worker (root) could still read and upload what the task wrote.
    const artifact = await call(coord.url, "GET", `/tasks/${uuid}/download/artifacts/result`, { token: alice });
    assertEquals(artifact.status, 200, artifact.text);
    // The worker registered with the user's token but did not cache it; the password flag was warned about.
    let cached = true;
    try {
      await Deno.stat(`${worker.dir}/config/mitosis/credentials`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      cached = false;
    }
    assertEquals(cached, false);
    assertIncludes(worker.stderr(), "password given on the command line");
    assertEquals(await worker.stop(), 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
