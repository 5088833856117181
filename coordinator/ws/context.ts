/** What every `/ws/managers` request handler receives, and message type helpers. */
import type { AppDeps, AuthManager } from "../http/context.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { CoordinatorMessage, ValidManagerMessage } from "../../shared/wire/manager_ws.ts";

/** The connection a request came in on. */
export interface ManagerRequestContext {
  deps: AppDeps;
  manager: AuthManager;
  /** Logger carrying the manager's uuid. */
  log: Logger;
}

/** The validated manager message of one `type`. */
export type ManagerMessageOf<T extends ValidManagerMessage["type"]> = Extract<ValidManagerMessage, { type: T }>;

/** A reply to a request, or null when the message needs none (no `request_id` to answer). */
export type Reply = CoordinatorMessage | null;

/** `Ack` for a message that may carry a request id (none: no reply). */
export function ack(requestId: number | undefined, success: boolean, error: string | null = null): Reply {
  return requestId === undefined ? null : { type: "Ack", request_id: requestId, success, error };
}
