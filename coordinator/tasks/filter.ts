/**
 * Task filters (creators, tags ⊇, labels ⊇, states, `exit_status` and
 * `priority` comparisons, reporter) rendered as a parameterised SQL fragment
 * over a task relation aliased `t` joined with users `u`.
 */
import type { Db } from "../db/connect.ts";
import type { Comparison, TaskFilter } from "../../shared/wire/tasks.ts";
import { TaskStateCode } from "../../shared/wire/tasks.ts";
import type postgres from "postgres";

/** A SQL fragment of postgres.js. */
export type Fragment = postgres.PendingQuery<postgres.Row[]>;

const OPERATORS = new Set(["=", "!=", "<", "<=", ">", ">="]);

function compare(db: Db, column: Fragment, c: Comparison): Fragment {
  if (!OPERATORS.has(c.op)) throw new Error(`unexpected operator ${c.op}`);
  return db`${column} ${db.unsafe(c.op)} ${c.value}`;
}

/** `AND …` conditions for every filter that is set (the group is filtered separately). */
export function taskFilterSql(db: Db, filter: TaskFilter): Fragment {
  const parts: Fragment[] = [];
  if (filter.creator_usernames) parts.push(db`u.username = ANY(${filter.creator_usernames})`);
  if (filter.tags) parts.push(db`t.tags @> ${filter.tags}::text[]`);
  if (filter.labels) parts.push(db`t.labels @> ${filter.labels}::text[]`);
  if (filter.states) parts.push(db`t.state = ANY(${filter.states.map((s) => TaskStateCode[s])}::int[])`);
  if (filter.priority) parts.push(compare(db, db`t.priority`, filter.priority));
  if (filter.exit_status) {
    parts.push(compare(db, db`(t.result->>'exit_status')::int`, filter.exit_status));
  }
  if (filter.reporter_uuid) parts.push(db`t.reporter_uuid = ${filter.reporter_uuid}`);
  return parts.reduce((acc, part) => db`${acc} AND ${part}`, db``);
}
