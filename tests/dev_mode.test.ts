/**
 * The all-in-one local mode, `mitosis-coordinator --dev`, as a real process:
 * the example its banner prints runs a suite on its local manager; Ctrl-C,
 * SIGKILL and a crashed manager leave nothing behind or are recovered from;
 * bad arguments are refused as without `--dev`.
 */
import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { cliSandbox } from "./support/cli.ts";
import { call, login } from "./support/http.ts";
import { sandboxEnv } from "./support/sandbox.ts";
import { localManagerEnv } from "../coordinator/dev/manager_settings.ts";
import { eventually } from "./support/suites.ts";
import { DEV_ADMIN_PASSWORD, type DevCoordinator, spawnDevCoordinator } from "./support/dev_coordinator.ts";
import { describeProcesses, processesMentioning } from "./support/leftovers.ts";

const MAIN = new URL("../coordinator/main.ts", import.meta.url).pathname;
const ADMIN = "mitosis_admin";

/** Waits until no process mentions the coordinator's HOME (its manager, workers, hooks and tasks carry it). */
async function nothingLeft(dev: DevCoordinator, timeoutMs = 20_000): Promise<void> {
  try {
    await eventually(
      "every process of the local mode to exit",
      () => processesMentioning(dev.home).length === 0,
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; left:\n${describeProcesses(processesMentioning(dev.home))}`);
  }
}

/** The `local manager started` log lines: one per manager process. */
function managerStarts(dev: DevCoordinator): Record<string, unknown>[] {
  return dev.logs().filter((line) => line.msg === "local manager started");
}

/** Runs `script` with bash (`-e`: the first failing command fails it) in a sandbox HOME; `stdin` is piped. */
async function runShell(
  script: string,
  home: string,
  stdin: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command("bash", {
    args: ["-e", "-c", script],
    env: sandboxEnv(home),
    clearEnv: true,
    cwd: home,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("dev mode: the local manager's environment carries its settings and none of the coordinator's", () => {
  const env = localManagerEnv({
    coordinatorUrl: "http://127.0.0.1:5123",
    adminUser: "root_admin",
    dataDir: "/srv/mitosis",
    logLevel: "debug",
    env: {
      PATH: "/usr/bin",
      MITOSIS_TASK_USER: "root",
      MITOSIS_ADMIN_PASSWORD: "secret",
      MITOSIS_S3_SECRET_KEY: "secret",
      MITOSIS_SHUTDOWN_SECRET: "secret",
      MITOSIS_DB_URL: "postgres://u:secret@db/m",
      MITOSIS_PASSWORD: "someone else's",
      MITOSIS_USER: "someone",
      MITOSIS_TAGS: "gpu",
      MITOSIS_CONFIG: "/elsewhere.toml",
    },
  }, { stateDir: "/srv/mitosis/dev/manager", passwordFile: "/srv/mitosis/dev/admin-password" });
  assertEquals(env, {
    PATH: "/usr/bin",
    MITOSIS_TASK_USER: "root",
    MITOSIS_COORDINATOR_ADDR: "http://127.0.0.1:5123",
    MITOSIS_USER: "root_admin",
    MITOSIS_PASSWORD_FILE: "/srv/mitosis/dev/admin-password",
    MITOSIS_CREDENTIAL_PATH: "/srv/mitosis/dev/credentials",
    MITOSIS_RETAIN: "true",
    MITOSIS_STATE_DIR: "/srv/mitosis/dev/manager",
    MITOSIS_TAGS: "local",
    MITOSIS_LOG_LEVEL: "debug",
  });
  const withFile = localManagerEnv({
    coordinatorUrl: "http://127.0.0.1:5123",
    adminUser: "root_admin",
    dataDir: "/srv/mitosis",
    logLevel: "info",
    configFile: "/etc/mitosis.toml",
    env: {},
  }, { stateDir: "/s", passwordFile: "/p" });
  assertEquals(withFile.MITOSIS_CONFIG, "/etc/mitosis.toml");
});

test("dev mode: the printed example runs a suite with a setup hook on the local manager; Ctrl-C stops everything", async () => {
  await using dev = await spawnDevCoordinator();
  const out = dev.stdout();
  assertIncludes(out, `Mitosis coordinator listening on ${dev.url}`);
  assertIncludes(out, `Log in as ${ADMIN} with the configured admin_password`);

  // The password reaches the manager only through its 0600 file: not in its argv nor in its environment.
  const [started] = managerStarts(dev);
  const managerPid = started.pid as number;
  for (const part of ["cmdline", "environ"]) {
    const text = await Deno.readTextFile(`/proc/${managerPid}/${part}`);
    assertTrue(!text.includes(DEV_ADMIN_PASSWORD), `the manager's ${part} holds the admin password`);
  }
  const passwordFile = `${dev.dataDir}/dev/admin-password`;
  assertEquals((await Deno.stat(passwordFile)).mode! & 0o777, 0o600);
  assertEquals(await Deno.readTextFile(passwordFile), `${DEV_ADMIN_PASSWORD}\n`);

  // The example as printed, `mitosis` being this checkout's scripts/mitosis.sh (its first line); login reads stdin.
  const example = dev.example();
  assertIncludes(example[0], "/scripts/mitosis.sh");
  assertIncludes(example.join("\n"), "mitosis suites watch");
  await using cli = await cliSandbox(dev.url);
  const run = await runShell(example.join("\n"), cli.dir, `${DEV_ADMIN_PASSWORD}\n`);
  assertEquals(run.code, 0, `${run.stdout}\n${run.stderr}`);
  const suite = /Suite (\S+) is Complete: 3\/3 tasks done/.exec(run.stdout)?.[1];
  assertTrue(suite !== undefined, `suites watch did not report the suite complete:\n${run.stdout}`);

  // The setup hook ran on the local manager; the three tasks finished with exit status 0.
  const hookLines = dev.logs().filter((line) =>
    line.msg === "hook output" && line.suite_uuid === suite && line.hook === "preparation"
  );
  assertEquals(hookLines.map((line) => line.line), ["setting up this machine for the suite"]);
  const finished = await cli.ok(["tasks", "query", "--state", "Finished", "--exit-status", "= 0", "--count"]);
  assertEquals(finished.stdout.trim(), "3");

  // Ctrl-C: SIGINT to the whole process group, as a terminal sends it.
  dev.signalGroup("SIGINT");
  assertEquals(await dev.waitExit(90_000), 0, dev.stderr());
  await nothingLeft(dev, 5_000);
  const stopped = dev.logs().find((line) => line.msg === "local manager stopped");
  assertEquals(stopped?.exit_code, 0, dev.stderr());
  assertTrue(!dev.logs().some((line) => line.msg === "local manager exited unexpectedly"), dev.stderr());
});

test("dev mode: a coordinator killed with SIGKILL leaves no manager, worker or task behind", async () => {
  await using dev = await spawnDevCoordinator();
  const token = await login(dev.url, ADMIN, DEV_ADMIN_PASSWORD, true);
  const created = await call(dev.url, "POST", "/suites", {
    token,
    body: {
      group_name: ADMIN,
      tags: ["local"],
      worker_schedule: { worker_count: 2 },
      env_preparation: { args: ["true"] },
    },
  });
  assertEquals(created.status, 201, created.text);
  const suite = (created.body as { uuid: string }).uuid;
  const tasks = [1, 2].map(() => ({ group_name: ADMIN, suite_uuid: suite, task_spec: { args: ["sleep", "600"] } }));
  const submitted = await call(dev.url, "POST", "/tasks/submit", { token, body: { tasks } });
  assertEquals(submitted.status, 200, submitted.text);
  // Both tasks running: the manager, two workers and two `sleep`s carry the coordinator's HOME.
  await eventually("both tasks to run", () => {
    const sleeps = processesMentioning(dev.home).filter((pid) => {
      try {
        return Deno.readTextFileSync(`/proc/${pid}/cmdline`).startsWith("sleep\0");
      } catch {
        return false;
      }
    });
    return sleeps.length === 2;
  }, 60_000);
  assertTrue(processesMentioning(dev.home).length >= 5, describeProcesses(processesMentioning(dev.home)));

  dev.process.kill("SIGKILL");
  assertTrue((await dev.waitExit(10_000)) !== null, "the coordinator did not die");
  await nothingLeft(dev);
});

test("dev mode: a local manager that crashes is restarted and reconnects; POST /admin/shutdown stops it too", async () => {
  await using dev = await spawnDevCoordinator();
  const first = await dev.waitForLog((line) => line.msg === "local manager connected", "the first connection");
  const firstPid = first.pid as number;
  Deno.kill(firstPid, "SIGKILL");

  const exit = await dev.waitForLog(
    (line) => line.msg === "local manager exited unexpectedly",
    "the crash",
  );
  assertEquals(exit.level, "error");
  assertEquals(exit.pid, firstPid);
  assertEquals(exit.signal, "SIGKILL");
  assertEquals(exit.exit_code, 137);
  const again = await dev.waitForLog(
    (line) => line.msg === "local manager connected" && line.pid !== firstPid,
    "the restarted manager's connection",
  );
  assertEquals(again.manager_uuid, first.manager_uuid);
  assertEquals(managerStarts(dev).length, 2);
  const token = await login(dev.url, ADMIN, DEV_ADMIN_PASSWORD, true);
  await eventually("the manager to be Idle again", async () => {
    const info = await call(dev.url, "GET", `/managers/${first.manager_uuid}`, { token });
    return (info.body as { state?: string }).state === "Idle";
  }, 30_000);
  // The banner is printed once, not again on the reconnection.
  assertEquals(dev.stdout().split("Local node manager").length, 2);

  // POST /admin/shutdown stops the coordinator first; the manager is stopped after it, never restarted.
  const secret = dev.logs().find((line) => line.msg === "shutdown secret generated")?.secret;
  const shutdown = await call(dev.url, "POST", "/admin/shutdown", { token, body: { secret } });
  assertEquals(shutdown.status, 200, shutdown.text);
  assertEquals(await dev.waitExit(90_000), 0, dev.stderr());
  await nothingLeft(dev, 5_000);
  assertEquals(managerStarts(dev).length, 2);
  assertEquals(dev.logs().filter((line) => line.msg === "local manager stopped").length, 1, dev.stderr());
});

test("dev mode: a positional argument or an unknown flag exits 2; --help documents --dev", async () => {
  const run = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, ...args],
      env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const decoder = new TextDecoder();
    return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
  };
  const [stray, unknown, help] = await Promise.all([
    run(["--dev", "stray"]),
    run(["--dev", "--no-such-flag"]),
    run(["--dev", "--help"]),
  ]);
  assertEquals(stray.code, 2);
  assertIncludes(stray.stderr, "unexpected argument stray");
  assertEquals(unknown.code, 2);
  assertIncludes(unknown.stderr, "--no-such-flag");
  assertEquals(help.code, 0);
  assertIncludes(help.stdout, "--dev");
  assertIncludes(help.stdout, "all-in-one local mode");
});
