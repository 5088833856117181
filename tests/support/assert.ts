/**
 * Assertions in the Deno std style, on top of `node:assert/strict`
 * (jsr:@std/assert cannot be installed here).
 */
import assert from "node:assert/strict";

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

/** Deep strict inequality. */
export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  assert.notDeepStrictEqual(actual, expected, message);
}

/** Truthiness. */
export function assertTrue(value: unknown, message?: string): asserts value {
  assert.ok(value, message);
}

/** `text` contains `part`. */
export function assertIncludes(text: string, part: string, message?: string): void {
  assert.ok(text.includes(part), message ?? `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`);
}

/** `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  assert.match(text, pattern, message);
}

/** Awaits `fn` and returns the error it rejects with; fails if it resolves. */
export async function assertRejects(fn: () => Promise<unknown>, message?: string): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new assert.AssertionError({ message: message ?? "expected rejection" });
}
