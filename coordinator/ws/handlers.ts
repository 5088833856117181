/** Routes each validated `/ws/managers` message to its handler. */
import type { ValidManagerMessage } from "../../shared/wire/manager_ws.ts";
import type { ManagerRequestContext, Reply } from "./context.ts";
import { heartbeat, suiteCompleted, suitePrepareFailed, suiteStarted } from "./suite_handlers.ts";
import {
  abortTask,
  fetchTasks,
  heldTasks,
  reportFailure,
  reportTask,
  reportTasks,
  returnTasks,
} from "./task_handlers.ts";

/** Handles one message; resolves to the reply to send (null: none). Unexpected failures reject. */
export function handleManagerMessage(ctx: ManagerRequestContext, msg: ValidManagerMessage): Promise<Reply> {
  switch (msg.type) {
    case "Heartbeat":
      return heartbeat(ctx, msg);
    case "FetchTask":
      return fetchTasks(ctx, msg);
    case "ReportTask":
      return reportTask(ctx, msg);
    case "ReportTasks":
      return reportTasks(ctx, msg);
    case "ReportFailure":
      return reportFailure(ctx, msg);
    case "AbortTask":
      return abortTask(ctx, msg);
    case "ReturnTasks":
      return returnTasks(ctx, msg);
    case "HeldTasks":
      return heldTasks(ctx, msg);
    case "SuiteStarted":
      return suiteStarted(ctx, msg);
    case "SuitePrepareFailed":
      return suitePrepareFailed(ctx, msg);
    case "SuiteCompleted":
      return suiteCompleted(ctx, msg);
  }
}
