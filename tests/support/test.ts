/**
 * `test()`: Deno.test with the op/resource sanitizers off, because the run
 * shares one embedded PostgreSQL (a child process started by the first test
 * that needs it) across test files.
 */

/** Registers a test that may share long-lived harness resources. */
export function test(name: string, fn: (t: Deno.TestContext) => Promise<void> | void): void {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}
