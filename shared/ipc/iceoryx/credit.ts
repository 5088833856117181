/**
 * Flow control of the `iceoryx` transport, one per direction of a
 * connection: at most `credit` messages may sit unacknowledged in the
 * receiver's queue (iceoryx would otherwise drop messages or block the
 * sender's thread, its event loop with it); the rest wait here, in order,
 * and go out as the receiver acknowledges. A send that finds shared memory
 * out of chunks is retried shortly.
 */
import { ChunkLoanError } from "./frame.ts";

/** Pause before retrying a send when shared memory had no free chunk. */
export const LOAN_RETRY_MS = 5;

/** What an outbox does with its messages. */
export interface OutboxHandlers<T> {
  /** Writes one message into shared memory (throws when it cannot). */
  send(item: T): void;
  /** A message was sent. */
  sent?(item: T): void;
  /** A message could not be sent (other than for want of chunks): a replacement to send instead, or null to drop it. */
  failed(item: T, error: unknown): T | null;
  /** Everything queued has been sent. */
  drained?(): void;
}

/** Messages of one direction waiting for the receiver's credit. */
export class CreditedOutbox<T> {
  readonly #credit: number;
  readonly #handlers: OutboxHandlers<T>;
  #items: T[] = [];
  #sent = 0;
  #acknowledged = 0;
  #open = false;
  #retry: ReturnType<typeof setTimeout> | undefined;

  constructor(credit: number, handlers: OutboxHandlers<T>) {
    this.#credit = credit;
    this.#handlers = handlers;
  }

  /** Messages waiting. */
  get size(): number {
    return this.#items.length;
  }

  /** Starts sending (once the connection is established). */
  open(): void {
    this.#open = true;
    this.flush();
  }

  /** Queues a message and sends what credit allows. */
  push(item: T): void {
    this.#items.push(item);
    this.flush();
  }

  /** The receiver consumed `ack` messages so far (a count modulo 2^32). */
  acknowledged(ack: number): void {
    if (((ack - this.#acknowledged) | 0) <= 0) return;
    this.#acknowledged = ack;
    this.flush();
  }

  /** Stops sending; returns what was still waiting. */
  close(): T[] {
    this.#open = false;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    return this.#items.splice(0);
  }

  /** Sends what credit allows. */
  flush(): void {
    if (!this.#open) return;
    while (this.#items.length > 0 && ((this.#sent - this.#acknowledged) | 0) < this.#credit) {
      const next = this.#items[0];
      try {
        this.#handlers.send(next);
      } catch (error) {
        if (error instanceof ChunkLoanError && error.result === "RUNNING_OUT_OF_CHUNKS") {
          this.#retry ??= setTimeout(() => {
            this.#retry = undefined;
            this.flush();
          }, LOAN_RETRY_MS);
          return;
        }
        const replacement = this.#handlers.failed(next, error);
        if (replacement === null) this.#items.shift();
        else this.#items[0] = replacement;
        continue;
      }
      this.#items.shift();
      this.#sent++;
      this.#handlers.sent?.(next);
    }
    if (this.#items.length === 0) this.#handlers.drained?.();
  }
}
