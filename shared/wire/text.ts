/**
 * The one check of decoded JSON that no schema expresses: every string and
 * object key must be storable in PostgreSQL (no NUL character, no lone
 * UTF-16 surrogate), and nesting stays shallow. The HTTP body reader, the
 * URL check, the `/ws/managers` frame decoder and the IPC decoders all run
 * it before their schema, so no endpoint or message can reach the database
 * with such text.
 */

/** Deepest nesting of arrays and objects accepted in a message. */
export const MAX_JSON_DEPTH = 64;

/** Where a value is unusable, and why. */
export interface TextProblem {
  /** Dotted path as zod writes it (`task_spec.args.0`); empty for the value itself. */
  path: string;
  problem: string;
}

/** Why `text` cannot be stored, or null when it can. */
export function textProblem(text: string): string | null {
  if (text.includes("\0")) return "must not contain NUL characters (U+0000)";
  if (!text.isWellFormed()) return "must not contain unpaired UTF-16 surrogates";
  return null;
}

/**
 * The first string or key of a decoded JSON value that cannot be stored,
 * or a nesting deeper than `MAX_JSON_DEPTH`; null when there is none.
 *
 * @example findTextProblem({ args: ["a\u0000"] }) // { path: "args.0", problem: "must not contain NUL …" }
 */
export function findTextProblem(value: unknown): TextProblem | null {
  const stack: { value: unknown; path: string[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value === "string") {
      const problem = textProblem(item.value);
      if (problem !== null) return { path: item.path.join("."), problem };
      continue;
    }
    if (typeof item.value !== "object" || item.value === null) continue;
    if (item.path.length >= MAX_JSON_DEPTH) {
      return { path: item.path.join("."), problem: `nested deeper than ${MAX_JSON_DEPTH} levels` };
    }
    const entries = Array.isArray(item.value)
      ? item.value.map((v, i) => [String(i), v] as const)
      : Object.entries(item.value as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i];
      const problem = Array.isArray(item.value) ? null : textProblem(key);
      if (problem !== null) {
        return { path: item.path.join("."), problem: `a key ${problem}` };
      }
      stack.push({ value: child, path: [...item.path, key] });
    }
  }
  return null;
}

/** `path: problem`, or just the problem for the value itself, prefixed with `what`. */
export function describeTextProblem(found: TextProblem, what: string): string {
  return found.path === "" ? `${what}: ${found.problem}` : `${what}: ${found.path}: ${found.problem}`;
}
