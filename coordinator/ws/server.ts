/**
 * `GET /ws/managers` (SPEC §5.4): the node-manager WebSocket.
 *
 * The upgrade needs `Authorization: Bearer <manager token>`; a missing,
 * invalid, expired or replaced token answers 401 `{"msg"}` without
 * upgrading, and a request without `Upgrade: websocket` answers 400. Each
 * connection is registered in the session registry (a newer connection of
 * the same manager replaces and closes the older one) and unregistered when
 * it closes; the manager keeps its suite assignment until its heartbeat
 * times out, so a quick reconnect resumes where it left off. A pending
 * shutdown request is sent to each new session once its first frame
 * arrived, and a session that was sent one and is closed by the exiting
 * manager ends it (`managers/shutdown.ts`).
 *
 * Frames up to `MAX_MANAGER_FRAME_BYTES` are handled; larger ones get an
 * `Error` reply, except beyond Deno's own 64 MiB message limit, where the
 * WebSocket layer closes the connection before the application sees them.
 *
 * Liveness uses WebSocket-level pings: Deno's `idleTimeout` sends a ping
 * frame after `ws_ping_interval` without traffic from the manager, and closes
 * the connection when nothing (pong or message) arrives within another
 * `ws_ping_interval`. Standard WebSocket clients answer pings themselves.
 */
import { Hono } from "hono";
import { upgradeWebSocket } from "hono/deno";
import type { AppDeps, AppEnv } from "../http/context.ts";
import { authenticateManager } from "../auth/middleware.ts";
import { badRequest } from "../../shared/errors.ts";
import { ManagerConnection } from "./session.ts";
import { deliverPendingShutdown, sessionClosed } from "../managers/shutdown.ts";

/**
 * Deno's `idleTimeout` (seconds) for a ping interval: Deno pings after half
 * of it without traffic and closes after the other half without an answer.
 */
export function idleTimeoutSeconds(pingIntervalMs: number): number {
  return Math.max(0.1, (2 * pingIntervalMs) / 1000);
}

/** The `/ws/managers` router (mount at `/ws/managers`). */
export function managerWsRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => {
    const manager = await authenticateManager(deps, c.req.header("Authorization"));
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
      throw badRequest("this endpoint expects a WebSocket upgrade (Upgrade: websocket)");
    }
    const log = deps.log.child({ manager: manager.uuid });
    let session: ManagerConnection | undefined;
    let spoke = false;
    return await upgradeWebSocket(c, {
      onOpen: (_event, ws) => {
        const socket = ws.raw;
        if (socket === undefined) throw new Error("the WebSocket adapter gave no socket");
        session = new ManagerConnection(deps, manager, socket, log);
        deps.sessions.add(session);
        log.info("manager connected", { remote: remoteAddress(c.env) });
      },
      onMessage: (event) => {
        if (session === undefined) return;
        session.receive(event.data);
        if (spoke) return;
        // After its first frame, not on open: a frame sent at once may reach the manager before it listens.
        spoke = true;
        void deliverPendingShutdown(deps, session, log).catch((error) =>
          log.error("reading the manager's pending shutdown failed", { error })
        );
      },
      onClose: (event) => {
        if (session === undefined) return;
        deps.sessions.remove(session);
        log.info("manager disconnected", { code: event.code, reason: event.reason, in_flight: session.inFlight });
        void sessionClosed(deps, session, event.code, log).catch((error) =>
          log.error("ending the manager's shutdown request failed", { error })
        );
      },
      onError: (event) => {
        log.warn("manager WebSocket error", { error: event instanceof ErrorEvent ? event.message : event.type });
      },
    }, { idleTimeout: idleTimeoutSeconds(deps.config.ws_ping_interval) });
  });
  return app;
}

function remoteAddress(env: unknown): string | null {
  const addr = (env as { remoteAddr?: Deno.Addr } | undefined)?.remoteAddr;
  return addr && "hostname" in addr ? `${addr.hostname}:${addr.port}` : null;
}
