/**
 * Configuration field definitions: each key's type, default, help text and
 * flag aliases in one table, from which the zod schema, the command-line
 * flags, the `MITOSIS_*` environment names and `--help` are all derived.
 */
import { z } from "zod";
import { formatDuration, parseDuration } from "./duration.ts";
import { parseSize } from "./size.ts";
import { LOG_LEVELS, type LogLevel } from "../log/logger.ts";

/** How a field is written on the command line. */
export type FlagKind = "string" | "boolean";

/** One configuration key. `T` is the validated value type. */
export interface Field<T> {
  /** Validates and normalises a raw value (TOML value, env or flag string). */
  readonly schema: z.ZodType<T>;
  /** The default, shown in `--help`; `undefined` means unset. */
  readonly default: T | undefined;
  readonly help: string;
  readonly flag: FlagKind;
  /** Extra flag spellings: one-letter shorts (`-b`) or long aliases (`--db`). */
  readonly aliases: readonly string[];
  /** Hide the value in `--help` and logs. */
  readonly secret: boolean;
  /** Renders a value for `--help`. */
  format(value: T): string;
}

/** A section's table of fields. */
export type FieldTable = Record<string, Field<unknown>>;

/** The validated configuration object of a field table. */
export type ConfigOf<T extends FieldTable> = {
  [K in keyof T]: T[K] extends Field<infer V> ? V : never;
};

type Options = { aliases?: string[]; secret?: boolean };

function make<T>(
  schema: z.ZodType<T>,
  def: T | undefined,
  help: string,
  flag: FlagKind,
  o: Options = {},
  format: (value: T) => string = String,
): Field<T> {
  return { schema, default: def, help, flag, aliases: o.aliases ?? [], secret: o.secret ?? false, format };
}

const durationSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = typeof value === "number" ? value * 1000 : parseDuration(value);
  if (ms === null || ms < 0) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a duration (examples: 90s, 3m, 7d, 1h30m)` });
    return z.NEVER;
  }
  return ms;
});

const sizeSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const bytes = typeof value === "number" ? (Number.isSafeInteger(value) ? value : null) : parseSize(value);
  if (bytes === null || bytes < 1) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a byte size (examples: 1048576, 512KiB, 16MiB)` });
    return z.NEVER;
  }
  return bytes;
});

/** Renders bytes in the largest binary unit that divides them (`16MiB`). */
function formatSize(bytes: number): string {
  for (const [unit, size] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

const boolSchema = z.union([z.boolean(), z.string()]).transform((value, ctx) => {
  if (typeof value === "boolean") return value;
  const v = value.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off", ""].includes(v)) return false;
  ctx.addIssue({ code: "custom", message: `"${value}" is not a boolean (true/false)` });
  return z.NEVER;
});

const listSchema = z.union([z.array(z.string()), z.string()]).transform((value) =>
  (Array.isArray(value) ? value : value.split(",")).map((s) => s.trim()).filter((s) => s !== "")
);

const intSchema = (min: number, max: number) =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    const n = typeof value === "number" ? value : /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: "custom", message: `"${value}" is not an integer in ${min}..${max}` });
      return z.NEVER;
    }
    return n;
  });

/** Builders for configuration fields. */
export const field = {
  /** A required string with a default. */
  string: (def: string, help: string, o?: Options): Field<string> =>
    make(z.string().min(1, "must not be empty"), def, help, "string", o),
  /** A string that may stay unset. */
  optionalString: (help: string, o?: Options): Field<string | undefined> =>
    make(z.string().min(1, "must not be empty").optional(), undefined, help, "string", o),
  /** A duration in milliseconds, written as a human string. */
  duration: (def: string, help: string, o?: Options): Field<number> =>
    make(durationSchema, parseDuration(def) ?? 0, help, "string", o, formatDuration),
  /** A duration that may stay unset. */
  optionalDuration: (help: string, o?: Options): Field<number | undefined> =>
    make(
      durationSchema.optional(),
      undefined,
      help,
      "string",
      o,
      (v) => (v === undefined ? "unset" : formatDuration(v)),
    ),
  /** A positive byte size, written as `1048576`, `512KiB` or `16MiB`. */
  size: (def: string, help: string, o?: Options): Field<number> =>
    make(sizeSchema, parseSize(def) ?? 0, help, "string", o, formatSize),
  /** A boolean flag. */
  bool: (def: boolean, help: string, o?: Options): Field<boolean> => make(boolSchema, def, help, "boolean", o),
  /** An integer within bounds. */
  int: (def: number | undefined, min: number, max: number, help: string, o?: Options): Field<number> =>
    make(intSchema(min, max), def, help, "string", o),
  /** An integer within bounds that may stay unset. */
  optionalInt: (min: number, max: number, help: string, o?: Options): Field<number | undefined> =>
    make(intSchema(min, max).optional(), undefined, help, "string", o, (v) => (v === undefined ? "unset" : String(v))),
  /** A comma-separated list (or a TOML array). */
  list: (help: string, o?: Options): Field<string[]> =>
    make(listSchema, [], help, "string", o, (v) => (v.length ? v.join(",") : "empty")),
  /** The log level switch. */
  logLevel: (): Field<LogLevel> => make(z.enum(LOG_LEVELS), "info", `log level: ${LOG_LEVELS.join(", ")}`, "string"),
};
