/**
 * Archives tasks that became Ready again inside a Cancelled suite (handed
 * back by a manager, requeued by the manager reaper or an abort after the
 * cancel), so a Cancelled suite never keeps waiting work. Batched; safe on
 * several coordinators (the archive statement locks the rows it moves).
 */
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../../shared/log/logger.ts";
import { archiveWaitingTasks, cancelledSuitesWithWaitingTasks } from "../suites/store.ts";
import { type Service, startService } from "./service.ts";
import type { DatabaseAvailability } from "../db/availability.ts";

const BATCH = 100;

/** One pass; returns how many tasks were archived. */
export async function sweepCancelledSuitesOnce(sql: Sql, log: Logger): Promise<number> {
  let total = 0;
  for (const suiteId of await cancelledSuitesWithWaitingTasks(sql, BATCH)) {
    const archived = await sql.begin((tx) => archiveWaitingTasks(tx, suiteId));
    if (archived.length > 0) {
      log.info("archived tasks left waiting in a cancelled suite", { suite_id: suiteId, count: archived.length });
    }
    total += archived.length;
  }
  return total;
}

/** Starts the sweeper (every `intervalMs`). */
export function startCancelledSuiteSweeper(
  sql: Sql,
  intervalMs: number,
  log: Logger,
  database?: DatabaseAvailability,
): Service {
  return startService(
    "cancelled-suite-sweeper",
    intervalMs,
    async () => {
      await sweepCancelledSuitesOnce(sql, log);
    },
    log,
    database,
  );
}
