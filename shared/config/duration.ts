/**
 * Human-readable durations such as `90s`, `3m`, `7d`, `1h30m` or `10min`,
 * the format used by every Mitosis configuration key and wire field that
 * carries a duration.
 */

const UNIT_MS: Record<string, number> = {
  ms: 1,
  msec: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1_000,
  sec: 1_000,
  secs: 1_000,
  second: 1_000,
  seconds: 1_000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

const PART = /(\d+(?:\.\d+)?)\s*([a-z]+)/gy;

/**
 * Parses a human duration into milliseconds; returns `null` for anything
 * that is not a well-formed, positive-or-zero duration.
 *
 * @example parseDuration("1h30m") // 5_400_000
 */
export function parseDuration(text: string): number | null {
  const input = text.trim().toLowerCase();
  if (input === "") return null;
  if (/^\d+$/.test(input)) return Number(input) * 1_000; // bare number = seconds
  let total = 0;
  let index = 0;
  PART.lastIndex = 0;
  while (index < input.length) {
    while (input[index] === " ") index++;
    if (index >= input.length) break;
    PART.lastIndex = index;
    const match = PART.exec(input);
    if (!match) return null;
    const unit = UNIT_MS[match[2]];
    if (unit === undefined) return null;
    total += Number(match[1]) * unit;
    index = PART.lastIndex;
  }
  return Number.isFinite(total) ? Math.round(total) : null;
}

/** Formats milliseconds as a compact human duration (`1h30m`, `250ms`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1_000]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join("");
}
