/**
 * A hook's output, teed: appended raw to the suite's `hooks.log` (framed by
 * `# mitosis-manager:` lines naming the hook, its command and its outcome)
 * and logged line by line in the manager's structured log. The last few KiB
 * are kept to explain a failure.
 */
import type { Logger } from "../../shared/log/logger.ts";

/** Longest line copied into the manager log (the file gets everything). */
const MAX_LOGGED_LINE = 4096;
/** Output kept for failure messages. */
const TAIL_BYTES = 2048;

/** The output sink of one hook run. */
export class HookOutput {
  readonly #file: Deno.FsFile;
  readonly #log: Logger;
  readonly #decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  readonly #partial = { stdout: "", stderr: "" };
  #tail = "";
  #endsWithNewline = true;

  private constructor(file: Deno.FsFile, log: Logger) {
    this.#file = file;
    this.#log = log;
  }

  /** Opens (appending to) `path`; `log` should carry the suite uuid and hook kind. */
  static async open(path: string, log: Logger): Promise<HookOutput> {
    const file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
    return new HookOutput(file, log);
  }

  /** The last output (both streams, in arrival order), for failure messages. */
  get tail(): string {
    return this.#tail.trim();
  }

  /** Writes a framing line into the file. */
  note(text: string): void {
    const prefix = this.#endsWithNewline ? "" : "\n";
    this.#write(new TextEncoder().encode(`${prefix}# mitosis-manager: ${new Date().toISOString()} ${text}\n`));
  }

  /** Takes one chunk of the hook's output. */
  chunk(stream: "stdout" | "stderr", bytes: Uint8Array): void {
    this.#write(bytes);
    const text = this.#decoders[stream].decode(bytes, { stream: true });
    this.#tail = (this.#tail + text).slice(-TAIL_BYTES);
    const lines = (this.#partial[stream] + text).split("\n");
    this.#partial[stream] = lines.pop() ?? "";
    for (const line of lines) this.#logLine(stream, line);
  }

  /** Logs unterminated last lines and closes the file. */
  close(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const rest = this.#partial[stream] + this.#decoders[stream].decode();
      if (rest !== "") this.#logLine(stream, rest);
      this.#partial[stream] = "";
    }
    this.#file.close();
  }

  #logLine(stream: "stdout" | "stderr", line: string): void {
    this.#log.info("hook output", { stream, line: line.replace(/\r$/, "").slice(0, MAX_LOGGED_LINE) });
  }

  #write(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    try {
      let offset = 0;
      while (offset < bytes.length) offset += this.#file.writeSync(bytes.subarray(offset));
      this.#endsWithNewline = bytes[bytes.length - 1] === 0x0a;
    } catch (error) {
      this.#log.error("cannot write the hook log", { error });
    }
  }
}
