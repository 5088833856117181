/**
 * The suite tasks this manager process holds, as the coordinator should see
 * them: claimed (a `FetchTask` reply) and not yet let go. A task is let go
 * when its `Commit` is answered (accepted or refused), when any of its
 * reports is refused (the attempt is no longer this manager's), when
 * `ReturnTasks` or `AbortTask` naming it is answered, or when the
 * coordinator acknowledged `SuiteCompleted` for its suite (leftovers go back
 * to Ready then). Buffered, running and reported-but-uncommitted tasks are
 * therefore all held.
 *
 * The list is declared with `HeldTasks` first on every (re)connection, so the
 * coordinator returns to Ready whatever it records as held by this manager
 * and this process does not hold (claims whose replies were lost, or
 * everything after a restart). Declaring a task the coordinator no longer
 * assigns here is harmless; forgetting one it does would leave it held
 * until this manager goes silent, so entries are dropped only on an answer.
 */
import type { ManagedTask } from "../../shared/wire/manager_ws.ts";

interface Held {
  readonly uuid: string;
  readonly suiteUuid: string;
}

/** Tasks held by this process, by task id. */
export class HeldTaskRegistry {
  readonly #byId = new Map<number, Held>();
  readonly #idByUuid = new Map<string, number>();

  /** Number of tasks held. */
  get size(): number {
    return this.#byId.size;
  }

  /** The uuids of every task held (what `HeldTasks` declares). */
  uuids(): string[] {
    return [...this.#idByUuid.keys()];
  }

  /** Records tasks the coordinator just handed to this manager. */
  claimed(tasks: readonly ManagedTask[]): void {
    for (const task of tasks) {
      this.#byId.set(task.id, { uuid: task.uuid, suiteUuid: task.suite_uuid });
      this.#idByUuid.set(task.uuid, task.id);
    }
  }

  /** Lets go of the task with id `taskId` (its commit or a refusal was answered). */
  releaseId(taskId: number): void {
    const held = this.#byId.get(taskId);
    if (held === undefined) return;
    this.#byId.delete(taskId);
    this.#idByUuid.delete(held.uuid);
  }

  /** Lets go of the tasks named by uuid (returned or aborted). */
  releaseUuids(uuids: readonly string[]): void {
    for (const uuid of uuids) {
      const id = this.#idByUuid.get(uuid);
      if (id !== undefined) this.releaseId(id);
    }
  }

  /** Lets go of every task of `suiteUuid` (the coordinator acknowledged the suite's completion here). */
  releaseSuite(suiteUuid: string): void {
    for (const [id, held] of [...this.#byId]) {
      if (held.suiteUuid === suiteUuid) this.releaseId(id);
    }
  }
}
