/**
 * Runs one acceptance case: in a fresh directory of its own, with its
 * progress lines printed and kept in `<dir>/case.log`, aborted past its time
 * limit (reported `fail`, reason "time limit") or when the run is
 * interrupted, a throw reported as `fail` with its message, and a promise it
 * leaves rejected unhandled reported as a failed check.
 */
import type { AcceptanceCase, CaseContext, CaseOutcome, Scale } from "./case.ts";
import type { CaseReport } from "./report.ts";

/** How long a case may take to clean up after being aborted before the runner moves on. */
const CLEANUP_GRACE_MS = 60_000;

/** Options of `executeCase`. */
export interface ExecuteOptions {
  scale: Scale;
  /** The case's directory (emptied first). */
  dir: string;
  /** Aborted when the whole run is interrupted (Ctrl-C). */
  interrupt: AbortSignal;
  /** Prints one progress line. */
  print(line: string): void;
}

const STATUSES: readonly CaseOutcome["status"][] = ["pass", "fail", "not run"];

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Resolves after `ms` (the timer is cleared by `cancel`). */
function timer(ms: number): { done: Promise<void>; cancel(): void } {
  let id: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<void>((resolve) => id = setTimeout(resolve, ms));
  return { done, cancel: () => clearTimeout(id) };
}

/** Resolves once `signal` is aborted. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** A case's outcome with every field the report needs, whatever the case returned. */
function normalise(outcome: CaseOutcome): Omit<CaseReport, "id" | "title" | "seconds"> {
  const status = STATUSES.includes(outcome?.status) ? outcome.status : "fail";
  const reason = outcome?.reason ??
    (status === "pass" ? undefined : STATUSES.includes(outcome?.status) ? "no reason given" : "no status returned");
  return {
    status,
    ...(reason === undefined ? {} : { reason }),
    scale: typeof outcome?.scale === "string" ? outcome.scale : "",
    checks: Array.isArray(outcome?.checks) ? outcome.checks.map(String) : [],
    figures: outcome?.figures ?? {},
  };
}

/** Runs `c` and returns its report entry; never throws. */
export async function executeCase(c: AcceptanceCase, options: ExecuteOptions): Promise<CaseReport> {
  const { scale, dir, interrupt, print } = options;
  await Deno.remove(dir, { recursive: true }).catch(() => {/* absent */});
  await Deno.mkdir(dir, { recursive: true });
  const logFile = await Deno.open(`${dir}/case.log`, { write: true, create: true, append: true });
  const encoder = new TextEncoder();
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const log = (line: string) => {
    const text = `[${c.id} +${elapsed().toFixed(1)}s] ${line}`;
    print(text);
    try {
      logFile.writeSync(encoder.encode(text + "\n"));
    } catch {
      // the log is closed once the case is over; late lines are printed only
    }
  };

  const controller = new AbortController();
  const stray: string[] = [];
  const onStray = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    stray.push(message(event.reason));
    log(`unhandled rejection: ${message(event.reason)}`);
  };
  globalThis.addEventListener("unhandledrejection", onStray);
  const ctx: CaseContext = { scale, dir, log, signal: controller.signal };
  const limit = timer(c.limitS[scale] * 1000);
  const running = (async () => await c.run(ctx))();
  type Ending = { kind: "done"; outcome: CaseOutcome } | { kind: "threw"; error: unknown } | {
    kind: "limit" | "interrupted";
  };
  const ending: Ending = await Promise.race([
    running.then((outcome): Ending => ({ kind: "done", outcome }), (error): Ending => ({ kind: "threw", error })),
    limit.done.then((): Ending => ({ kind: "limit" })),
    aborted(interrupt).then((): Ending => ({ kind: "interrupted" })),
  ]);
  limit.cancel();

  let result: Omit<CaseReport, "id" | "title" | "seconds">;
  if (ending.kind === "done") {
    result = normalise(ending.outcome);
  } else if (ending.kind === "threw") {
    result = { status: "fail", reason: message(ending.error), scale: "", checks: [], figures: {} };
    log(`failed: ${ending.error instanceof Error ? ending.error.stack : String(ending.error)}`);
  } else {
    const reason = ending.kind === "limit" ? "time limit" : "interrupted";
    log(`${reason} (${c.limitS[scale]} s at scale ${scale}): aborting the case`);
    controller.abort(new Error(reason));
    const grace = timer(CLEANUP_GRACE_MS);
    const settled = await Promise.race([running.then(() => true, () => true), grace.done.then(() => false)]);
    grace.cancel();
    if (!settled) log(`did not finish cleaning up within ${CLEANUP_GRACE_MS / 1000} s of the abort`);
    result = { status: "fail", reason, scale: "", checks: [], figures: {} };
  }
  // Rejections surface as events on a later turn; give them one before the verdict.
  await new Promise((resolve) => setTimeout(resolve, 0));
  globalThis.removeEventListener("unhandledrejection", onStray);
  if (stray.length > 0) {
    result.checks.push(...stray.map((s) => `unhandled rejection: ${s}`));
    if (result.status === "pass") {
      result = { ...result, status: "fail", reason: `unhandled rejection: ${stray[0]}` };
    }
  }
  const seconds = Math.round(elapsed() * 10) / 10;
  log(`${result.status}${result.reason === undefined ? "" : `: ${result.reason}`} (${seconds} s)`);
  logFile.close();
  return { id: c.id, title: c.title, ...result, seconds };
}
