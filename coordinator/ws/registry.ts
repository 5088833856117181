/**
 * The node-manager WebSocket sessions open on this coordinator, by manager
 * id. A manager has at most one live session: a new connection replaces
 * (and closes) the previous one.
 */
import type { CoordinatorMessage } from "../../shared/wire/manager_ws.ts";

/** What the registry needs from a session. */
export interface ManagerSession {
  readonly managerId: number;
  /** Sends one message; false when the socket is no longer open. */
  send(message: CoordinatorMessage): boolean;
  /** Closes the socket. */
  close(code: number, reason: string): void;
}

/** Live sessions of this coordinator. */
export class SessionRegistry {
  readonly #sessions = new Map<number, ManagerSession>();

  /** Registers a session, closing any older one of the same manager. */
  add(session: ManagerSession): void {
    const previous = this.#sessions.get(session.managerId);
    this.#sessions.set(session.managerId, session);
    if (previous && previous !== session) previous.close(4000, "replaced by a newer connection");
  }

  /** Forgets a session (only if it is still the current one). */
  remove(session: ManagerSession): void {
    if (this.#sessions.get(session.managerId) === session) this.#sessions.delete(session.managerId);
  }

  /** The live session of a manager, if it is connected here. */
  get(managerId: number): ManagerSession | undefined {
    return this.#sessions.get(managerId);
  }

  /** Ids of the managers connected here. */
  managerIds(): number[] {
    return [...this.#sessions.keys()];
  }

  /** Closes every session (coordinator shutdown). */
  closeAll(reason: string): void {
    for (const session of this.#sessions.values()) session.close(1001, reason);
    this.#sessions.clear();
  }
}
