/**
 * Interactive prompts on stdin: a line of text, or a secret read without
 * echo when stdin is a terminal (raw mode). When stdin is a pipe, both read
 * the next line, so `printf 'pw\n' | mitosis login alice` works.
 */
import { CliError } from "./errors.ts";

/** Asks the person (or the pipe) at stdin for answers. */
export interface Prompter {
  /** Asks `question` and returns the answered line (without its newline). */
  line(question: string): Promise<string>;
  /** Like `line`, but the answer is not echoed on a terminal. */
  secret(question: string): Promise<string>;
}

/** The part of `Deno.stdin` that prompts use. */
export interface PromptInput {
  read(buffer: Uint8Array): Promise<number | null>;
  isTerminal(): boolean;
  setRaw(mode: boolean): void;
}

const NL = 0x0a;
const CR = 0x0d;
const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_U = 0x15;
const BACKSPACE = 0x08;
const DEL = 0x7f;

const decoder = new TextDecoder();

/** A prompter on `input` (default `Deno.stdin`) that writes its questions with `write` (stderr). */
export function stdinPrompter(write: (text: string) => void, input: PromptInput = Deno.stdin): Prompter {
  return new StdinPrompter(input, write);
}

class StdinPrompter implements Prompter {
  /** Bytes read from stdin but not yet consumed by a prompt. */
  #pending: Uint8Array = new Uint8Array(0);
  readonly #input: PromptInput;
  readonly #write: (text: string) => void;

  constructor(input: PromptInput, write: (text: string) => void) {
    this.#input = input;
    this.#write = write;
  }

  async line(question: string): Promise<string> {
    this.#write(question);
    const answer = this.#answer(question, await this.#readLine());
    if (!this.#input.isTerminal()) this.#write("\n");
    return answer;
  }

  async secret(question: string): Promise<string> {
    this.#write(question);
    if (!this.#input.isTerminal()) {
      // Piped input is not echoed: end the prompt line ourselves.
      const answer = this.#answer(question, await this.#readLine());
      this.#write("\n");
      return answer;
    }
    this.#input.setRaw(true);
    try {
      return this.#answer(question, await this.#readRawSecret());
    } finally {
      this.#input.setRaw(false);
      this.#write("\n");
    }
  }

  #answer(question: string, answer: string | null): string {
    if (answer === null) {
      throw new CliError(`stdin closed before "${question.trim().replace(/:$/, "")}" was answered`);
    }
    return answer;
  }

  async #chunk(): Promise<Uint8Array | null> {
    if (this.#pending.length > 0) {
      const chunk = this.#pending;
      this.#pending = new Uint8Array(0);
      return chunk;
    }
    const buffer = new Uint8Array(4096);
    const n = await this.#input.read(buffer);
    return n === null ? null : buffer.subarray(0, n);
  }

  /** One line in cooked mode; `null` at end of input with nothing read. */
  async #readLine(): Promise<string | null> {
    const bytes: number[] = [];
    for (;;) {
      const chunk = await this.#chunk();
      if (chunk === null) return bytes.length > 0 ? decoder.decode(new Uint8Array(bytes)) : null;
      const end = chunk.indexOf(NL);
      if (end < 0) {
        bytes.push(...chunk);
        continue;
      }
      bytes.push(...chunk.subarray(0, end));
      this.#pending = chunk.slice(end + 1);
      return decoder.decode(new Uint8Array(bytes)).replace(/\r$/, "");
    }
  }

  /** One line typed on a raw-mode terminal, not echoed; handles backspace, Ctrl-U, Ctrl-C, Ctrl-D. */
  async #readRawSecret(): Promise<string | null> {
    const bytes: number[] = [];
    for (;;) {
      const chunk = await this.#chunk();
      if (chunk === null) return bytes.length > 0 ? decoder.decode(new Uint8Array(bytes)) : null;
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i];
        if (b === CR || b === NL) {
          this.#pending = chunk.slice(i + 1);
          return decoder.decode(new Uint8Array(bytes));
        }
        if (b === CTRL_C) throw new CliError("interrupted");
        if (b === CTRL_D) {
          if (bytes.length === 0) return null;
          continue;
        }
        if (b === CTRL_U) {
          bytes.length = 0;
          continue;
        }
        if (b === DEL || b === BACKSPACE) {
          // Drop one whole UTF-8 character: its continuation bytes, then its lead byte.
          let last: number | undefined;
          do last = bytes.pop(); while (last !== undefined && (last & 0xc0) === 0x80);
          continue;
        }
        bytes.push(b);
      }
    }
  }
}
