/** Errors the CLI raises itself (bad arguments, unanswerable prompts). */

/** A local CLI failure, reported as `error: <message>` with exit status 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}
