/**
 * Suite scenarios against a real coordinator: a coordinator with user
 * `alice` (her own group), suite creation and task submission over REST,
 * reads of suites and managers, polling until a condition holds, the
 * manager's logged state transitions, and a free loopback port for a
 * coordinator that must come back on the same address.
 */
import { ADMIN, startTestCoordinator, type TestCoordinator } from "./coordinator.ts";
import { call, createUser, login } from "./http.ts";
import type { ManagerInfo } from "../../shared/wire/managers.ts";
import type { HookSpec, SuiteInfo, WorkerSchedule } from "../../shared/wire/suites.ts";

/** The user whose group the suites belong to. */
export const ALICE = { user: "alice", password: "alice-pw" } as const;

/** A coordinator with tokens for the admin and for alice. */
export interface SuiteSetup {
  coord: TestCoordinator;
  admin: string;
  alice: string;
}

/** Starts a coordinator (with `overrides`) and creates alice. */
export async function setupSuites(overrides: Parameters<typeof startTestCoordinator>[0] = {}): Promise<SuiteSetup> {
  const coord = await startTestCoordinator(overrides);
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, ALICE.user, ALICE.password);
  return { coord, admin, alice };
}

/** What a test sets on a new suite (in alice's group). */
export interface SuiteOptions {
  name?: string;
  priority?: number;
  tags?: string[];
  worker_count?: number;
  task_prefetch_count?: number;
  worker_schedule?: Partial<WorkerSchedule>;
  env_preparation?: Partial<HookSpec> & { args: string[] };
  env_cleanup?: Partial<HookSpec> & { args: string[] };
}

/** Creates a suite in alice's group; returns its uuid. */
export async function createSuite(url: string, token: string, body: SuiteOptions): Promise<string> {
  const res = await call(url, "POST", "/suites", {
    token,
    body: {
      group_name: "alice",
      name: body.name,
      priority: body.priority ?? 0,
      tags: body.tags ?? [],
      worker_schedule: {
        worker_count: body.worker_count ?? 2,
        ...(body.task_prefetch_count === undefined ? {} : { task_prefetch_count: body.task_prefetch_count }),
        ...body.worker_schedule,
      },
      env_preparation: body.env_preparation,
      env_cleanup: body.env_cleanup,
    },
  });
  if (res.status !== 201) throw new Error(`suite creation failed: ${res.status} ${res.text}`);
  return (res.body as { uuid: string }).uuid;
}

/** Submits tasks running `args` into a suite in batches of 500; returns their uuids in order. */
export async function submit(url: string, token: string, suite: string, args: string[][]): Promise<string[]> {
  const uuids: string[] = [];
  for (let start = 0; start < args.length; start += 500) {
    const tasks = args.slice(start, start + 500).map((a) => ({
      group_name: "alice",
      suite_uuid: suite,
      timeout: "2m",
      task_spec: { args: a },
    }));
    const res = await call(url, "POST", "/tasks/submit", { token, body: { tasks } });
    if (res.status !== 200) throw new Error(`submit failed: ${res.status} ${res.text}`);
    for (const result of (res.body as { results: { Ok?: { uuid: string }; Err?: unknown }[] }).results) {
      if (result.Ok === undefined) throw new Error(`a task was refused: ${JSON.stringify(result.Err)}`);
      uuids.push(result.Ok.uuid);
    }
  }
  return uuids;
}

/** `GET /suites/{uuid}`. */
export async function getSuite(url: string, token: string, suite: string): Promise<SuiteInfo> {
  const res = await call(url, "GET", `/suites/${suite}`, { token });
  if (res.status !== 200) throw new Error(`get suite failed: ${res.status} ${res.text}`);
  return res.body as SuiteInfo;
}

/** `GET /managers/{uuid}`. */
export async function getManager(url: string, token: string, uuid: string): Promise<ManagerInfo> {
  const res = await call(url, "GET", `/managers/${uuid}`, { token });
  if (res.status !== 200) throw new Error(`get manager failed: ${res.status} ${res.text}`);
  return res.body as ManagerInfo;
}

/** Polls `probe` every `everyMs` until it returns something other than null/false; returns that. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | null | false> | T | null | false,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Waits until the suite is Complete; resolves with its info. */
export function suiteComplete(
  url: string,
  token: string,
  suite: string,
  timeoutMs = 120_000,
  what = "the suite to complete",
): Promise<SuiteInfo> {
  return eventually(
    what,
    async () => {
      const info = await getSuite(url, token, suite);
      return info.state_name === "Complete" && info;
    },
    timeoutMs,
    250,
  );
}

/** The manager's `manager state changed` transitions for one suite, as `from→to`. */
export function transitions(logs: Record<string, unknown>[], suite: string): string[] {
  return logs.filter((l) => l.msg === "manager state changed" && l.suite_uuid === suite).map((l) =>
    `${l.from}→${l.to}`
  );
}

/** A free TCP port on loopback (nothing listens on it when this returns). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Lines of a file that tasks append to (one `echo` each: short appends are
 * atomic), or none when no task wrote yet.
 */
export async function appendedLines(path: string): Promise<string[]> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter((line) => line !== "");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** How many times each value occurs. */
export function countBy(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/** The transitions of one full run of a suite on a manager. */
export const ONE_RUN = ["Idle→Preparing", "Preparing→Executing", "Executing→Cleanup", "Cleanup→Idle"] as const;

/** Something that logs like a spawned manager. */
interface ManagerLogs {
  logs(): Record<string, unknown>[];
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<unknown>;
}

/**
 * Waits for the manager's own transition back to Idle after `suite` (the
 * coordinator shows Idle a moment earlier), then returns its transitions for
 * that suite.
 */
export async function transitionsUntilIdle(manager: ManagerLogs, suite: string): Promise<string[]> {
  await manager.waitForLog(
    (l) => l.msg === "manager state changed" && l.suite_uuid === suite && l.to === "Idle",
    30_000,
    "the manager's own Idle transition",
  );
  return transitions(manager.logs(), suite);
}

/** Waits until the coordinator shows the manager Idle with no suite assigned. */
export async function managerIdle(url: string, token: string, uuid: string, timeoutMs = 60_000): Promise<void> {
  await eventually("the manager to be Idle", async () => {
    const info = await getManager(url, token, uuid);
    return info.state === "Idle" && info.assigned_suite_uuid === null;
  }, timeoutMs);
}
