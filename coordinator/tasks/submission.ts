/**
 * Where a submitted task goes: its group (Write required, group Active) and,
 * with `suite_uuid`, its suite, whose group and tags it inherits. Submitting
 * into a Cancelled suite is refused.
 */
import type { Db } from "../db/connect.ts";
import { badRequest } from "../../shared/errors.ts";
import type { AuthUser } from "../http/context.ts";
import { TaskStateCode, type ValidSubmitTaskReq } from "../../shared/wire/tasks.ts";
import { SuiteState } from "../suites/states.ts";
import { groupWithRole } from "../groups/access.ts";
import { getSuiteByUuid } from "../suites/store.ts";
import type { NewTask } from "./store.ts";

/** Resolves a validated submission into a task row to insert (throws ApiError when refused). */
export async function resolveSubmission(db: Db, user: AuthUser, req: ValidSubmitTaskReq): Promise<NewTask> {
  const group = await groupWithRole(db, user, req.group_name, "Write");
  if (group.state !== 0) throw badRequest(`group ${group.group_name} is not Active`);
  if (req.suite_uuid == null) {
    return { creatorId: user.id, groupId: group.id, req, state: TaskStateCode.Ready };
  }
  const suite = await getSuiteByUuid(db, req.suite_uuid);
  if (suite.group_id !== group.id) {
    throw badRequest(`suite ${suite.uuid} belongs to another group than ${group.group_name}`);
  }
  if (suite.state === SuiteState.Cancelled) {
    throw badRequest(`suite ${suite.uuid} is Cancelled and takes no new tasks`);
  }
  return {
    creatorId: user.id,
    groupId: group.id,
    req: { ...req, tags: suite.tags },
    state: TaskStateCode.Ready,
    suiteId: suite.id,
  };
}
