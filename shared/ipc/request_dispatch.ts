/**
 * The manager side's handling of one worker request, shared by every IPC
 * transport: decoding the received body (an unusable one, or one over the
 * in-flight limit, gets its `Error` reply at once) and running the handler
 * (a failing handler becomes an `Error` reply).
 */
import type { Logger } from "../log/logger.ts";
import type { ManagerReply, ValidWorkerRequest } from "../wire/ipc.ts";
import { decodeWorkerRequest } from "./messages.ts";
import type { IpcHandler, IpcPeer } from "./transport.ts";

/** Requests of one connection handled at once; more are answered with `Error` (reading goes on, so peer death is still seen). */
export const MAX_IN_FLIGHT_PER_CONNECTION = 4096;

/** A received body: the request to answer, or the reply it gets at once. */
export type Admitted = { ok: true; request: ValidWorkerRequest } | { ok: false; reply: ManagerReply };

/** Decodes one request body (read before this returns) from a connection with `inFlight` requests being answered. */
export function admitRequest(body: Uint8Array, inFlight: number, log: Logger): Admitted {
  const decoded = decodeWorkerRequest(body);
  if (!decoded.ok) {
    log.warn("unusable IPC frame from worker", { request_id: decoded.request_id, error: decoded.msg });
    return { ok: false, reply: { type: "Error", request_id: decoded.request_id, msg: decoded.msg } };
  }
  const { request } = decoded;
  if (inFlight >= MAX_IN_FLIGHT_PER_CONNECTION) {
    const msg = `too many requests in flight (limit ${MAX_IN_FLIGHT_PER_CONNECTION}); wait for replies`;
    log.warn("IPC request refused", { type: request.type, request_id: request.request_id, error: msg });
    return { ok: false, reply: { type: "Error", request_id: request.request_id, msg } };
  }
  return { ok: true, request };
}

/** Runs the handler for one request; its failure becomes an `Error` reply (logged). */
export async function answerRequest(
  handler: IpcHandler,
  peer: IpcPeer,
  request: ValidWorkerRequest,
  log: Logger,
): Promise<ManagerReply> {
  try {
    return await handler.onRequest(peer, request);
  } catch (error) {
    log.error("IPC request handler failed", { type: request.type, request_id: request.request_id, error });
    return { type: "Error", request_id: request.request_id, msg: `internal error handling ${request.type}` };
  }
}
