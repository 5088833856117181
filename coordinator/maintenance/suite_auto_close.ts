/**
 * Closes Open suites that received no new task for `suite_auto_close`
 * (SPEC §5.2), in batches of one statement each. Safe on several
 * coordinators: rows another coordinator (or a submission) holds are
 * skipped and picked up on a later pass.
 */
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../../shared/log/logger.ts";
import { autoCloseIdleSuites } from "../suites/store.ts";
import { formatTimestamp } from "../../shared/time.ts";
import { intervalFor, type Service, startService } from "./service.ts";
import type { DatabaseAvailability } from "../db/availability.ts";

/** Settings of the auto-closer. */
export interface SuiteAutoCloseConfig {
  /** An Open suite idle this long (ms) is closed. */
  idleMs: number;
  /** Suites closed per statement (default 500). */
  batchSize?: number;
  /** Longest a single statement may run (ms, default 10 s); a stalled one fails the pass, not the loop. */
  statementTimeoutMs?: number;
}

const DEFAULT_BATCH = 500;
const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;

/** One pass: closes idle Open suites batch after batch; returns how many were closed. */
export async function autoCloseSuitesOnce(sql: Sql, config: SuiteAutoCloseConfig, log: Logger): Promise<number> {
  const batch = config.batchSize ?? DEFAULT_BATCH;
  const timeout = config.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  let total = 0;
  for (;;) {
    const closed = await sql.begin(async (tx) => {
      await tx`SELECT set_config('statement_timeout', ${String(timeout)}, true)`;
      return await autoCloseIdleSuites(tx, config.idleMs, batch);
    });
    for (const suite of closed) {
      log.info("suite state changed", {
        suite: suite.uuid,
        from: "Open",
        to: "Closed",
        reason: "auto-close",
        idle_since: formatTimestamp(suite.idle_since),
      });
    }
    total += closed.length;
    if (closed.length < batch) return total;
    // Full batch: yield briefly (randomised) so coordinators interleave instead of racing.
    await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40));
  }
}

/** Starts the auto-closer, running a pass every quarter of `idleMs` (within [100 ms, 30 s]). */
export function startSuiteAutoClose(
  sql: Sql,
  config: SuiteAutoCloseConfig,
  log: Logger,
  database?: DatabaseAvailability,
): Service {
  return startService(
    "suite-auto-close",
    intervalFor(config.idleMs),
    async () => {
      await autoCloseSuitesOnce(sql, config, log);
    },
    log,
    database,
  );
}
