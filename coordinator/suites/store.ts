/**
 * Data access for task suites.
 */
import type { Db } from "../db/connect.ts";
import { notFound } from "../../shared/errors.ts";

/** A row of `task_suites`. */
export interface SuiteRow {
  id: number;
  uuid: string;
  name: string | null;
  description: string | null;
  group_id: number;
  creator_id: number;
  tags: string[];
  labels: string[];
  priority: number;
  worker_schedule: unknown;
  env_preparation: unknown;
  env_cleanup: unknown;
  state: number;
  last_task_submitted_at: Date | null;
  total_tasks: number;
  pending_tasks: number;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

/** The suite with this uuid, or null. */
export async function findSuiteByUuid(db: Db, uuid: string): Promise<SuiteRow | null> {
  const [row] = await db<SuiteRow[]>`SELECT * FROM task_suites WHERE uuid = ${uuid}`;
  return row ?? null;
}

/** The suite with this uuid; 404 when absent. */
export async function getSuiteByUuid(db: Db, uuid: string): Promise<SuiteRow> {
  const row = await findSuiteByUuid(db, uuid);
  if (row === null) throw notFound(`suite ${uuid} not found`);
  return row;
}
