/**
 * Byte sizes written by people (`10GB`, `512MiB`, `1024`): decimal units are
 * powers of 1000 and binary units powers of 1024, as in the existing Mitosis.
 */

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  p: 1e15,
  pb: 1e15,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  pib: 1024 ** 5,
};

/** Parses a byte size into a whole number of bytes; `null` when malformed. */
export function parseSize(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) return null;
  const unit = SIZE_UNITS[match[2].toLowerCase()];
  if (unit === undefined) return null;
  const bytes = Math.round(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** How a quota change applies to the current value. */
export type QuotaChange = { op: "add" | "sub" | "set"; amount: number };

/**
 * Parses an admin quota change: `+N`, `-N`, `=N` or `N`, where N goes
 * through `parseAmount` (a plain integer for group quotas, a size for storage).
 */
export function parseQuotaChange(
  text: string,
  parseAmount: (s: string) => number | null,
): QuotaChange | null {
  const trimmed = text.trim();
  const sign = trimmed[0];
  const op = sign === "+" ? "add" : sign === "-" ? "sub" : "set";
  const rest = sign === "+" || sign === "-" || sign === "=" ? trimmed.slice(1) : trimmed;
  const amount = parseAmount(rest);
  return amount === null ? null : { op, amount };
}

/** Applies a quota change; returns `null` when the result would be negative. */
export function applyQuotaChange(current: number, change: QuotaChange): number | null {
  const next = change.op === "add"
    ? current + change.amount
    : change.op === "sub"
    ? current - change.amount
    : change.amount;
  return next < 0 || !Number.isSafeInteger(next) ? null : next;
}

/** Parses a non-negative integer count (`8`), rejecting units and fractions. */
export function parseCount(text: string): number | null {
  return /^\s*\d+\s*$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : null;
}
