/**
 * Structured JSON logging: one JSON object per line on stderr, with a level
 * switch (`debug`, `info`, `warn`, `error`, `off`).
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error", "off"] as const;
/** A log level name. */
export type LogLevel = typeof LOG_LEVELS[number];

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, off: 100 };

/** Context fields attached to a log line (task uuid, manager, ...). */
export type LogFields = Record<string, unknown>;

/** A logger bound to a component name and a set of context fields. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Returns a logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

type Sink = (line: string) => void;

const encoder = new TextEncoder();
const stderrSink: Sink = (line) => {
  try {
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  } catch {
    // stderr closed (parent gone): there is nowhere left to report to.
  }
};

function errorFields(value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  return value;
}

/** Creates a logger writing JSON lines at or above `level`. */
export function createLogger(
  component: string,
  level: LogLevel = "info",
  fields: LogFields = {},
  sink: Sink = stderrSink,
): Logger {
  const threshold = RANK[level];
  const emit = (lvl: Exclude<LogLevel, "off">, msg: string, extra?: LogFields) => {
    if (RANK[lvl] < threshold) return;
    const record: Record<string, unknown> = {
      ts: new Date().toISOString(),
      level: lvl,
      component,
      msg,
      ...fields,
    };
    if (extra) { for (const [k, v] of Object.entries(extra)) record[k] = errorFields(v); }
    sink(JSON.stringify(record));
  };
  return {
    debug: (msg, extra) => emit("debug", msg, extra),
    info: (msg, extra) => emit("info", msg, extra),
    warn: (msg, extra) => emit("warn", msg, extra),
    error: (msg, extra) => emit("error", msg, extra),
    child: (more) => createLogger(component, level, { ...fields, ...more }, sink),
  };
}
