/**
 * The timestamp format of the existing Mitosis wire protocol,
 * `YYYY-MM-DD HH:MM:SS.f +HH:MM:SS`, which its clients parse.
 */

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/**
 * Formats a date in UTC as `2025-11-21 02:53:11.123 +00:00:00`.
 * The fraction keeps millisecond precision without trailing zeros (at least one digit).
 */
export function formatTimestamp(date: Date): string {
  const fraction = pad(date.getUTCMilliseconds(), 3).replace(/0+$/, "") || "0";
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${fraction} +00:00:00`;
}

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? ([+-])(\d{2}):(\d{2})(?::(\d{2}))?$/;

/** Parses a timestamp in the wire format back into a Date; `null` if malformed. */
export function parseTimestamp(text: string): Date | null {
  const m = TIMESTAMP.exec(text);
  if (!m) return null;
  const ms = m[7] ? Math.floor(Number(m[7].padEnd(9, "0")) / 1e6) : 0;
  const utc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], ms);
  const offset = ((+m[9]) * 3600 + (+m[10]) * 60 + (m[11] ? +m[11] : 0)) * 1000;
  return new Date(m[8] === "+" ? utc - offset : utc + offset);
}
