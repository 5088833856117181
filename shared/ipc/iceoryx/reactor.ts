/**
 * The one iceoryx runtime and wait set of a process. `IceoryxReactor.get()`
 * loads the C binding, checks that RouDi answers (without it
 * `iox_runtime_init` would block for 60 s and then abort the process) and
 * registers the process with RouDi once. Subscribers attach with a callback
 * that drains them; a single `iox_ws_wait` runs off the event loop
 * (`nonblocking` FFI) while any subscriber is attached, and stops when none
 * is, so an idle process has no pending wait and can exit.
 *
 * The wait set is not thread-safe, so attaching and detaching happen between
 * waits: a user trigger wakes the wait, the change is applied, and the next
 * wait starts. Subscribers are attached by state (`HAS_DATA`, level
 * triggered): a callback that leaves data queued is called again.
 */
import {
  ICEORYX_LOG_LEVEL_ENV,
  ICEORYX_LOG_LEVELS,
  iceoryxLibraryPath,
  type IceoryxSymbols,
  loadIceoryx,
  SUBSCRIBER_STATE_HAS_DATA,
  WAIT_SET_SUCCESS,
} from "../../../ffi/iceoryx.ts";
import type { Logger } from "../../log/logger.ts";
import { roudiReachable } from "./roudi.ts";
import { IpcBackendUnavailableError } from "../backend_error.ts";

/** Notifications read per wake-up (more are picked up by the next wait). */
const NOTIFICATION_CAPACITY = 256;
/** The user trigger's notification id; subscribers get 1, 2, … */
const TRIGGER_ID = 0;

/** The process's iceoryx runtime and its wait loop. */
export class IceoryxReactor {
  readonly lib: IceoryxSymbols;
  /** The name this process registered with RouDi. */
  readonly runtimeName: string;
  readonly #log: Logger;
  readonly #waitSet: Deno.PointerObject;
  readonly #trigger: Deno.PointerObject;
  // Storages must outlive the objects constructed in them.
  readonly #storages: Uint8Array[];
  readonly #notifications = new BigUint64Array(NOTIFICATION_CAPACITY);
  readonly #missed = new BigUint64Array(1);
  readonly #subscribers = new Map<number, { subscriber: Deno.PointerObject; onData: () => void }>();
  #changes: (() => void)[] = [];
  #nextId = 1;
  #loop: Promise<void> | null = null;

  static #instance: Promise<IceoryxReactor> | null = null;

  private constructor(lib: IceoryxSymbols, runtimeName: string, log: Logger) {
    this.lib = lib;
    this.runtimeName = runtimeName;
    this.#log = log;
    const waitSetStorage = new Uint8Array(8);
    const triggerStorage = new Uint8Array(8);
    this.#storages = [waitSetStorage, triggerStorage];
    this.#waitSet = lib.iox_ws_init(waitSetStorage)!;
    this.#trigger = lib.iox_user_trigger_init(triggerStorage)!;
    const result = lib.iox_ws_attach_user_trigger_event(this.#waitSet, this.#trigger, BigInt(TRIGGER_ID), null);
    if (result !== WAIT_SET_SUCCESS) throw new Error(`cannot attach the wake-up trigger to the wait set (${result})`);
  }

  /**
   * The process's reactor, created on first use. Throws
   * `IpcBackendUnavailableError` when the library does not load or no RouDi
   * answers (the process is then not registered, and a later call tries again).
   */
  static get(log: Logger): Promise<IceoryxReactor> {
    if (IceoryxReactor.#instance === null) {
      const created = IceoryxReactor.#create(log);
      IceoryxReactor.#instance = created;
      created.catch(() => {
        if (IceoryxReactor.#instance === created) IceoryxReactor.#instance = null;
      });
    }
    return IceoryxReactor.#instance;
  }

  static async #create(log: Logger): Promise<IceoryxReactor> {
    let lib: IceoryxSymbols;
    try {
      lib = loadIceoryx(iceoryxLibraryPath());
    } catch (error) {
      throw new IpcBackendUnavailableError(error instanceof Error ? error.message : String(error));
    }
    if (!await roudiReachable()) {
      throw new IpcBackendUnavailableError(
        "no iceoryx RouDi daemon answers on this machine (the manager starts one when it uses --ipc iceoryx)",
      );
    }
    const level = Deno.env.get(ICEORYX_LOG_LEVEL_ENV) ?? "fatal";
    const levelValue = Object.hasOwn(ICEORYX_LOG_LEVELS, level)
      ? ICEORYX_LOG_LEVELS[level as keyof typeof ICEORYX_LOG_LEVELS]
      : ICEORYX_LOG_LEVELS.fatal;
    lib.iox_set_loglevel(levelValue);
    const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(16).padStart(8, "0");
    const runtimeName = `mitosis-${Deno.pid}-${random}`;
    const nameBytes = new TextEncoder().encode(`${runtimeName}\0`);
    lib.iox_runtime_init(nameBytes);
    log.debug("registered with the iceoryx RouDi daemon", { runtime: runtimeName });
    return new IceoryxReactor(lib, runtimeName, log);
  }

  /**
   * Attaches `subscriber`; `onData` is called (on the event loop) whenever it
   * has data and must take everything queued. Resolves with the attachment id
   * once attached.
   */
  attach(subscriber: Deno.PointerObject, onData: () => void): Promise<number> {
    const id = this.#nextId++;
    return this.#change(() => {
      const result = this.lib.iox_ws_attach_subscriber_state(
        this.#waitSet,
        subscriber,
        SUBSCRIBER_STATE_HAS_DATA,
        BigInt(id),
        null,
      );
      if (result !== WAIT_SET_SUCCESS) {
        throw new Error(`cannot attach an iceoryx subscriber to the wait set (result ${result})`);
      }
      this.#subscribers.set(id, { subscriber, onData });
      return id;
    });
  }

  /** Detaches attachment `id`; resolves once no wait can report it any more (the subscriber may then be freed). */
  detach(id: number): Promise<void> {
    return this.#change(() => {
      const entry = this.#subscribers.get(id);
      if (entry === undefined) return;
      this.lib.iox_ws_detach_subscriber_state(this.#waitSet, entry.subscriber, SUBSCRIBER_STATE_HAS_DATA);
      this.#subscribers.delete(id);
    });
  }

  /** Applies a wait-set change between waits. */
  #change<T>(apply: () => T): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    const run = () => {
      try {
        resolve(apply());
      } catch (error) {
        reject(error);
      }
    };
    if (this.#loop === null) {
      run();
      if (this.#subscribers.size > 0) this.#loop = this.#run();
    } else {
      this.#changes.push(run);
      this.lib.iox_user_trigger_trigger(this.#trigger);
    }
    return promise;
  }

  /** Waits and dispatches until nothing is attached. */
  async #run(): Promise<void> {
    try {
      while (true) {
        const count = Number(
          await this.lib.iox_ws_wait(this.#waitSet, this.#notifications, BigInt(NOTIFICATION_CAPACITY), this.#missed),
        );
        for (let i = 0; i < count; i++) {
          const info = Deno.UnsafePointer.create(this.#notifications[i]);
          if (info === null) continue;
          const id = Number(this.lib.iox_notification_info_get_notification_id(info));
          if (id === TRIGGER_ID) continue;
          const entry = this.#subscribers.get(id);
          if (entry === undefined) continue;
          try {
            entry.onData();
          } catch (error) {
            this.#log.error("iceoryx subscriber callback failed", { attachment: id, error });
          }
        }
        for (const change of this.#changes.splice(0)) change();
        if (this.#subscribers.size === 0) return;
      }
    } finally {
      this.#loop = null;
      // Changes queued while the last wait ended apply now (and may start a new loop).
      const late = this.#changes.splice(0);
      for (const change of late) change();
      if (this.#subscribers.size > 0 && this.#loop === null) this.#loop = this.#run();
    }
  }
}
