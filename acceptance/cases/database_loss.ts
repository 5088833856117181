/**
 * 8.3.5, database connection loss: the coordinator loses PostgreSQL for the
 * guide's 30 s (8 s at quick scale) while a manager runs a suite, twice —
 * once with its connections cut and new ones refused, once stalled (nothing
 * forwarded, what the guide's `iptables -A OUTPUT -p tcp --dport 5432 -j
 * DROP` does to TCP) — without root: PostgreSQL is reached through a TCP
 * proxy the case controls.
 *
 * Real processes (`tests/support/db_outage.ts`, shared with
 * `tests/database_connection_loss.test.ts`): a `coordinator/main.ts` process
 * on its own database of the harness's embedded PostgreSQL, a
 * `manager/main.ts` process with 2 managed workers; REST clients call the
 * coordinator throughout the loss. Each guide expectation becomes a check
 * per kind of loss, with what was observed.
 */
import type { AcceptanceCase, CaseContext, CaseOutcome, Scale } from "../case.ts";
import { type OutageMode, runDatabaseOutage, summarizeOutage } from "../../tests/support/db_outage.ts";

/** One run's size. */
interface LossScale {
  tasks: number;
  outageMs: number;
  workers: number;
  /** The coordinator's manager heartbeat timeout: below the silence the loss causes, to prove it is not counted. */
  managerHeartbeatTimeout: string;
}

const SCALES: Record<Scale, LossScale> = {
  quick: { tasks: 200, outageMs: 8_000, workers: 2, managerHeartbeatTimeout: "8s" },
  full: { tasks: 1_000, outageMs: 30_000, workers: 2, managerHeartbeatTimeout: "20s" },
};

/** Longest wait for a 503 (ms): the guide asks for a graceful failure, this case for one within 10 s. */
const MAX_503_MS = 10_000;

/** Longest time from the restore to the first successful claim (ms). */
const MAX_RECOVERY_MS = 15_000;

const MODES: { mode: OutageMode; label: string }[] = [
  { mode: "cut", label: "cut (connections dropped, new ones refused)" },
  { mode: "stall", label: "stalled (nothing forwarded, as iptables DROP)" },
];

/** The case's check lines: `what: observed: pass|FAIL`; failed ones make the reason. */
class Checks {
  readonly lines: string[] = [];
  readonly failures: string[] = [];

  /** A condition, with the observed values in `detail`. */
  that(what: string, ok: boolean, detail: string): void {
    const line = `${what}: ${detail}: ${ok ? "pass" : "FAIL"}`;
    this.lines.push(line);
    if (!ok) this.failures.push(line);
  }

  /** Passes when `observed < limit` (a missing measurement, NaN, fails). */
  below(what: string, observed: number, limit: number, unit: string): void {
    const format = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 0 });
    this.that(what, observed < limit, `${format(observed)} ${unit} (target < ${format(limit)} ${unit})`);
  }

  outcome(scale: string, figures: Record<string, number | string>): CaseOutcome {
    if (this.failures.length === 0) return { status: "pass", scale, checks: this.lines, figures };
    return { status: "fail", reason: this.failures.join("; "), scale, checks: this.lines, figures };
  }
}

function describe(s: LossScale, scale: Scale): string {
  const text = `1 manager × ${s.workers} workers × ${s.tasks.toLocaleString("en-US")} tasks per loss; database lost ` +
    `${s.outageMs / 1000} s, cut then stalled`;
  return scale === "full" ? `${text} (the guide's 30 s)` : `${text} (guide: 30 s)`;
}

async function run(ctx: CaseContext): Promise<CaseOutcome> {
  const s = SCALES[ctx.scale];
  const checks = new Checks();
  const figures: Record<string, number | string> = {};
  for (const { mode, label } of MODES) {
    const dir = `${ctx.dir}/${mode}`;
    await Deno.mkdir(dir, { recursive: true });
    ctx.log(`database ${label} for ${s.outageMs / 1000} s`);
    const r = await runDatabaseOutage({
      mode,
      tasks: s.tasks,
      outageMs: s.outageMs,
      workers: s.workers,
      managerHeartbeatTimeout: s.managerHeartbeatTimeout,
      dir,
      progress: (message) => ctx.log(`${mode}: ${message}`),
      signal: ctx.signal,
    });
    const o = summarizeOutage(r);
    const p = `${mode}: `;

    // "Coordinator detects connection pool exhaustion"
    checks.that(
      `${p}the coordinator detects the loss and its end, logging each once`,
      o.lostLines === 1 && o.restoredLines === 1 && o.coordinatorErrors === 0,
      `'database connection lost' ${o.lostLines}×, 'database connection restored' ${o.restoredLines}× ` +
        `(outage ${o.loggedOutageMs} ms, ${o.failedOperations} failed operations), ${o.coordinatorErrors} error lines`,
    );
    // "Coordinator retries queries with backoff"
    checks.that(
      `${p}the coordinator probes the database with a backoff until it answers; the manager retries`,
      (o.probes ?? 0) >= 1 && (mode === "stall" || o.fetchRetries >= 1),
      `${o.probes} probes; manager: ${
        o.fetchRetries > 0
          ? `${o.fetchRetries} fetches retried (pauses ${o.fetchPausesMs.join(", ")} ms)`
          : "no fetch failed (they waited for the database)"
      }, ${o.reportResends} reports sent again`,
    );
    // "WebSocket connections remain alive (heartbeats cached)"
    checks.that(
      `${p}the manager's WebSocket stays open`,
      o.wsConnects === 1 && o.wsUnexpectedCloses === 0 && o.wsManagerLosses === 0,
      `${o.wsConnects} connection, ${o.wsUnexpectedCloses} closed before the manager's exit, ` +
        `${o.wsManagerLosses} lost/reconnected; ${o.heartbeatErrors} heartbeats answered Error ` +
        `(not cached: one that cannot be recorded is refused, and the manager keeps its socket)`,
    );
    checks.that(
      `${p}heartbeats failing during the loss do not take the manager Offline (timeout ${s.managerHeartbeatTimeout})`,
      o.reaped === 0 && o.reclaimed === 0,
      `${o.reaped} managers Offline, ${o.reclaimed} suites reclaimed`,
    );
    // "Task fetch requests queue or fail gracefully"
    checks.that(
      `${p}REST calls during the loss fail gracefully: 503 {msg}`,
      o.callsDuringLoss > 0 && o.otherAnswers.length === 0 && o.failedCalls.length === 0,
      `${o.answered503} of ${o.callsDuringLoss} answered 503 {msg}; ${o.failedCalls.length} answered 500 or not at all`,
    );
    checks.below(`${p}slowest 503 during the loss`, o.max503Ms, MAX_503_MS, "ms");
    // "Upon reconnection: normal operation resumes"
    checks.below(`${p}restore → first successful task claim`, r.recoveryMs ?? NaN, MAX_RECOVERY_MS, "ms");
    checks.that(
      `${p}the suite completes after the restore`,
      r.suiteState === "Complete" && r.active === 0,
      `${r.suiteState} ${r.completionMs} ms after the restore, ${r.active} tasks still active`,
    );
    // "No permanent data loss"
    checks.that(
      `${p}no acknowledged task lost, none run twice, all archived Finished`,
      o.lost.length === 0 && o.duplicates.length === 0 && o.notFinished === 0 &&
        o.unacknowledged.length <= o.refusedSubmits,
      `${r.acknowledged.length} acknowledged, ${o.lost.length} lost, ${o.duplicates.length} run twice, ` +
        `${o.archived} archived (${o.notFinished} not Finished/0); ${o.unacknowledged.length} created by ` +
        `submissions answered 503 (${o.refusedSubmits} such answers; they may take effect)`,
    );

    Object.assign(figures, {
      [`${mode}_outage_s`]: Math.round(r.outageMs / 100) / 10,
      [`${mode}_503_count`]: o.answered503,
      [`${mode}_max_503_latency_ms`]: o.max503Ms,
      [`${mode}_recovery_ms`]: r.recoveryMs ?? "none",
      [`${mode}_completion_after_restore_ms`]: r.completionMs,
      [`${mode}_tasks_lost`]: o.lost.length,
      [`${mode}_duplicates`]: o.duplicates.length,
    });
  }
  return checks.outcome(describe(s, ctx.scale), figures);
}

/** The case. */
export const cases: AcceptanceCase[] = [{
  id: "8.3.5",
  title: "Database connection loss: coordinator cut off from PostgreSQL mid-suite, then back",
  limitS: { quick: 240, full: 600 },
  run,
}];
