/**
 * Task suite endpoints (SPEC §5.2), mounted at `/suites`: create, get,
 * list/query, cancel, close and the suite's managers (refresh, add,
 * remove). Permissions follow the suite's group: Read to look, Write to
 * change.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../http/context.ts";
import { param, parseOrBadRequest, readJson } from "../http/validate.ts";
import { requireUser } from "../auth/middleware.ts";
import { badRequest } from "../../shared/errors.ts";
import type { UserGroupRole } from "../../shared/wire/common.ts";
import {
  CancelSuiteReqSchema,
  CreateSuiteReqSchema,
  SuiteManagersReqSchema,
  SuitesQueryReqSchema,
  TASK_SUITE_STATES,
} from "../../shared/wire/suites.ts";
import { SuiteState } from "../suites/states.ts";
import { type GroupRef, groupWithRole, requireRole } from "../groups/access.ts";
import { refreshTagMatches } from "../suites/matching.ts";
import { suiteInfo, suiteInfos } from "../suites/present.ts";
import {
  closeSuite,
  countSuites,
  getSuiteByUuid,
  insertSuite,
  querySuites,
  suiteOwnerNames,
  type SuiteRow,
} from "../suites/store.ts";
import { cancelSuiteAndNotify } from "../suites/cancellation.ts";
import { addSuiteManagers, refreshSuiteManagers, removeSuiteManagerLinks } from "../suites/manager_links.ts";

const UuidSchema = z.uuid();

/** The `GET /suites?…` parameters as a query request (numbers and lists decoded, the rest left to the schema). */
function queryFromParams(c: Context<AppEnv>): unknown {
  const q = c.req.query();
  const number = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : v);
  const tags = (c.req.queries("tags") ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v);
  const count = q.count === undefined ? undefined : q.count === "true" ? true : q.count === "false" ? false : q.count;
  return {
    group_name: q.group_name,
    state: q.state,
    tags: q.tags === undefined ? undefined : tags,
    limit: number(q.limit),
    offset: number(q.offset),
    count,
  };
}

/** Reads an optional JSON body: an empty body stands for `{}`. */
async function readOptionalJson<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<z.output<S>> {
  const text = await c.req.text();
  if (text.trim() === "") return parseOrBadRequest(schema, {}, "request body");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest("request body is not valid JSON");
  }
  return parseOrBadRequest(schema, value, "request body");
}

/** Routes under `/suites`. */
export function suiteRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", requireUser(deps));

  /** The suite named in the path and its group, with the caller holding at least `min` there. */
  const suiteFor = async (c: Context<AppEnv>, min: UserGroupRole): Promise<{ suite: SuiteRow; group: GroupRef }> => {
    const suite = await getSuiteByUuid(deps.sql, param(c, "uuid", UuidSchema));
    const owner = (await suiteOwnerNames(deps.sql, [suite.id])).get(suite.id);
    if (owner === undefined) throw new Error(`suite ${suite.uuid} has no group row`);
    const group = { id: suite.group_id, group_name: owner.group_name };
    await requireRole(deps.sql, c.var.user, group, min);
    return { suite, group };
  };

  const notCancelled = (suite: SuiteRow, what: string) => {
    if (suite.state === SuiteState.Cancelled) throw badRequest(`suite ${suite.uuid} is Cancelled: ${what}`);
  };

  app.post("/", async (c) => {
    const req = await readJson(c, CreateSuiteReqSchema);
    const group = await groupWithRole(deps.sql, c.var.user, req.group_name, "Write");
    if (group.state !== 0) throw badRequest(`group ${group.group_name} is not Active`);
    const { suite, matched } = await deps.sql.begin(async (tx) => {
      const suite = await insertSuite(tx, {
        groupId: group.id,
        creatorId: c.var.user.id,
        name: req.name ?? null,
        description: req.description ?? null,
        tags: req.tags,
        labels: req.labels,
        priority: req.priority,
        workerSchedule: req.worker_schedule,
        envPreparation: req.env_preparation ?? null,
        envCleanup: req.env_cleanup ?? null,
      });
      return { suite, matched: await refreshTagMatches(tx, suite.id) };
    });
    deps.assigner.kick();
    deps.log.info("suite created", {
      suite: suite.uuid,
      group: group.group_name,
      user: c.var.user.username,
      state: "Open",
      matched_managers: matched.length,
    });
    return c.json({ uuid: suite.uuid }, 201);
  });

  const query = async (c: Context<AppEnv>, req: z.output<typeof SuitesQueryReqSchema>) => {
    const group = await groupWithRole(deps.sql, c.var.user, req.group_name ?? c.var.user.username, "Read");
    const filter = { groupId: group.id, state: req.state, tags: req.tags };
    if (req.count) return c.json({ count: await countSuites(deps.sql, filter), suites: [] });
    const rows = await querySuites(deps.sql, filter, req);
    return c.json({ count: rows.length, suites: await suiteInfos(deps.sql, rows) });
  };
  app.get("/", async (c) => await query(c, parseOrBadRequest(SuitesQueryReqSchema, queryFromParams(c), "query")));
  app.post("/query", async (c) => await query(c, await readJson(c, SuitesQueryReqSchema)));

  app.get("/:uuid", async (c) => {
    const { suite } = await suiteFor(c, "Read");
    return c.json(await suiteInfo(deps.sql, suite));
  });

  const cancel = async (c: Context<AppEnv>) => {
    const { suite } = await suiteFor(c, "Write");
    const req = await readOptionalJson(c, CancelSuiteReqSchema);
    const outcome = await cancelSuiteAndNotify(deps, suite, { ...req, by: c.var.user.username });
    return c.json(outcome);
  };
  app.post("/:uuid/cancel", cancel);
  app.delete("/:uuid", cancel);

  app.post("/:uuid/close", async (c) => {
    const { suite } = await suiteFor(c, "Write");
    if (!(await closeSuite(deps.sql, suite.id))) {
      const now = await getSuiteByUuid(deps.sql, suite.uuid);
      throw badRequest(`suite ${suite.uuid} is ${TASK_SUITE_STATES[now.state]}: only an Open suite can be closed`);
    }
    deps.log.info("suite state changed", { suite: suite.uuid, from: "Open", to: "Closed", by: c.var.user.username });
    return c.json(await suiteInfo(deps.sql, await getSuiteByUuid(deps.sql, suite.uuid)));
  });

  app.post("/:uuid/managers/refresh", async (c) => {
    const { suite } = await suiteFor(c, "Write");
    notCancelled(suite, "its managers cannot be refreshed");
    const matched = await refreshSuiteManagers(deps, suite, c.var.user.username);
    deps.assigner.kick();
    return c.json({ matched });
  });

  app.post("/:uuid/managers", async (c) => {
    const { suite, group } = await suiteFor(c, "Write");
    const req = await readJson(c, SuiteManagersReqSchema);
    notCancelled(suite, "managers cannot be added");
    const result = await addSuiteManagers(deps, suite, group.group_name, req.manager_uuids, c.var.user);
    if (result.added.length > 0) deps.assigner.kick();
    return c.json(result);
  });

  app.delete("/:uuid/managers", async (c) => {
    const { suite } = await suiteFor(c, "Write");
    const req = await readJson(c, SuiteManagersReqSchema);
    const removed = await removeSuiteManagerLinks(deps, suite, req.manager_uuids, c.var.user.username);
    if (removed.length > 0) deps.assigner.kick();
    return c.json({ removed });
  });

  return app;
}
