/**
 * Runs one suite hook (`env_preparation` or `env_cleanup`) in the suite's
 * work dir: downloads its resources into the work dir (each at its
 * `local_path`, so `["bash", "setup.sh"]` finds `setup.sh`), then runs its
 * args without a shell, in a process group of its own, with the hook's envs
 * plus the `MITOSIS_*` context. The hook's timeout applies to the whole
 * group: SIGTERM, then SIGKILL after the grace period. Output goes to the
 * suite's `hooks.log` and to the manager log.
 *
 * With a task user (the manager runs as root, `shared/exec/task_user.ts`)
 * the hook runs as that user: the work dir is handed to it just before the
 * hook starts and taken back (owned by the manager again, so nothing the
 * hook left can redirect the manager's writes) as soon as it ends.
 */
import { parseDuration } from "../../shared/config/duration.ts";
import { describeWaitStatus } from "../../shared/exec/exit_status.ts";
import { runTaskProcess } from "../../shared/exec/process.ts";
import { handTo, makeReachable, takeBack, type TaskUser, taskUserEnv } from "../../shared/exec/task_user.ts";
import { fetchResources } from "../../shared/exec/resources.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { HookSpec } from "../../shared/wire/suites.ts";
import { hookEnvironment } from "./env.ts";
import { HookOutput } from "./output.ts";
import type { HookResourceResolver } from "./resources.ts";

/** Which hook. */
export type HookKind = "preparation" | "cleanup";

/** How a hook run ended. */
export type HookOutcome =
  | { kind: "succeeded" }
  /** Exit ≠ 0, timeout, signal, resource failure: `error` explains it. */
  | { kind: "failed"; error: string }
  /** Stopped through `signal` (suite reclaimed or cancelled, manager stopping). */
  | { kind: "interrupted" };

/** One hook run. */
export interface HookRun {
  kind: HookKind;
  hook: HookSpec;
  suiteUuid: string;
  /** The suite's work dir: the hook's cwd, where resources land and `hooks.log` lives. */
  workDir: string;
  /** The `MITOSIS_*` context variables. */
  context: Record<string, string>;
  resolver: HookResourceResolver;
  /** Aborting terminates the hook's process group. */
  signal: AbortSignal;
  /** Time between SIGTERM and SIGKILL when terminating the group. */
  killGraceMs?: number;
  /** Run the hook as this user instead of the manager's. */
  taskUser?: TaskUser;
  log: Logger;
}

/** Time the resource downloads of one hook may take in all (as for tasks). */
export const HOOK_RESOURCES_LIMIT_MS = 30 * 60_000;

/** The per-suite hook log file. */
export function hookLogPath(workDir: string): string {
  return `${workDir}/hooks.log`;
}

/** Runs the hook; never throws for the hook's own failures (they are the `failed` outcome). */
export async function runHook(run: HookRun): Promise<HookOutcome> {
  const log = run.log.child({ hook: run.kind });
  const user = run.taskUser;
  if (user !== undefined) await removeLink(hookLogPath(run.workDir)); // left by an earlier hook run as the task user
  const output = await HookOutput.open(hookLogPath(run.workDir), log);
  const name = `${run.kind} hook`;
  const finish = (outcome: HookOutcome): HookOutcome => {
    output.note(
      outcome.kind === "failed" ? `${name} failed: ${outcome.error}` : `${name} ${outcome.kind}`,
    );
    if (outcome.kind === "failed") log.warn("hook failed", { error: outcome.error });
    else log.info(`hook ${outcome.kind}`);
    return outcome;
  };
  try {
    output.note(`${name} starting: ${JSON.stringify(run.hook.args)}`);
    log.info("hook starting", { args: run.hook.args, timeout: run.hook.timeout, resources: run.hook.resources.length });
    if (run.hook.resources.length > 0) {
      run.resolver.lastError = null;
      const failure = await fetchResources(run.suiteUuid, run.hook.resources, run.workDir, run.resolver, {
        deadline: Date.now() + HOOK_RESOURCES_LIMIT_MS,
        signal: run.signal,
        log,
      });
      if (failure === "interrupted") return finish({ kind: "interrupted" });
      if (failure !== null) {
        const detail = run.resolver.lastError === null ? "" : ` (${run.resolver.lastError})`;
        return finish({ kind: "failed", error: `${name} resources could not be downloaded: ${failure}${detail}` });
      }
    }
    if (run.signal.aborted) return finish({ kind: "interrupted" });
    const timeoutMs = parseDuration(run.hook.timeout);
    if (timeoutMs === null || timeoutMs <= 0) {
      return finish({ kind: "failed", error: `${name} has an invalid timeout ${JSON.stringify(run.hook.timeout)}` });
    }
    if (user !== undefined) makeReachable(run.workDir, log);
    const result = await runTaskProcess(
      {
        args: run.hook.args,
        env: { ...hookEnvironment(run.hook, run.context), ...(user === undefined ? {} : taskUserEnv(user)) },
        cwd: run.workDir,
        onOutput: (stream, chunk) => output.chunk(stream, chunk),
        user,
        beforeSpawn: user === undefined ? undefined : () => handTo(run.workDir, user),
      },
      { timeoutMs, killGraceMs: run.killGraceMs, signal: run.signal, log },
    );
    if (result.kind === "interrupted") return finish({ kind: "interrupted" });
    const tail = output.tail === "" ? "" : `; last output: ${output.tail.slice(-1000)}`;
    if (result.kind === "timeout") {
      return finish({ kind: "failed", error: `${name} timed out after ${run.hook.timeout}${tail}` });
    }
    if (result.waitStatus !== 0) {
      const signo = result.waitStatus & 0x7f;
      const how = signo === 0
        ? `exited with code ${(result.waitStatus >> 8) & 0xff}`
        : `was killed by ${describeWaitStatus(result.waitStatus)}`;
      return finish({ kind: "failed", error: `${name} ${how}${tail}` });
    }
    return finish({ kind: "succeeded" });
  } catch (error) {
    if (run.signal.aborted) return finish({ kind: "interrupted" });
    return finish({ kind: "failed", error: `${name} could not run: ${(error as Error).message}` });
  } finally {
    output.close();
    if (user !== undefined) {
      await takeBack(run.workDir).catch((error) =>
        log.error("cannot take the work dir back from the task user", { error })
      );
    }
  }
}

/** Removes `path` when it is a symbolic link. */
async function removeLink(path: string): Promise<void> {
  try {
    if ((await Deno.lstat(path)).isSymlink) await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
