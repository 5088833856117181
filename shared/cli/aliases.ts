/**
 * Singular aliases for command groups: every command that has subcommands
 * and a plural name (`users`, `groups`, later `suites`, `tasks`, …) also
 * answers to its singular (`mitosis group create x`).
 */
import type { Command } from "commander";

/** The singular of a plural command name, or `null` when it is not a plain `-s` plural. */
export function singularOf(name: string): string | null {
  if (name.length < 3 || !name.endsWith("s") || name.endsWith("ss") || name.endsWith("us")) return null;
  return name.slice(0, -1);
}

/** Adds singular aliases to every plural command group under `root`, recursively. */
export function addSingularAliases(root: Command): void {
  for (const sub of root.commands) {
    if (sub.commands.length === 0) continue;
    const singular = singularOf(sub.name());
    const taken = (name: string) => root.commands.some((c) => c.name() === name || c.aliases().includes(name));
    if (singular !== null && !taken(singular)) sub.alias(singular);
    addSingularAliases(sub);
  }
}
