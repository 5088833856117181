/**
 * Global options anywhere on the command line, without stealing a
 * subcommand's own flags.
 *
 * Commander lets the root parse its options wherever they appear, so a
 * subcommand's `-p <priority>` or `-c <creators>` (as in the existing
 * `mito client`) would be taken as `--password` / `--coordinator`. Here each
 * command parses only the options before its subcommand; every subcommand
 * carries hidden copies of the root's options, minus the flags it defines
 * itself, and the values given to those copies are handed to the root
 * before the action runs. So `mitosis tasks query -u bob -p 5` means user
 * bob, priority 5, and `mitosis -p pw tasks query` still sets the password.
 */
import { type Command, Option } from "commander";

/** Applies the scoping to `program` and all its subcommands; call once every command is registered. */
export function scopeGlobalOptions(program: Command): void {
  const globals = program.options.filter((option) => option.long !== "--help" && option.long !== "--version");
  for (const command of descendants(program)) addCopies(command, globals);
  for (const command of [program, ...descendants(program)]) {
    if (command.commands.length > 0) command.enablePositionalOptions();
  }
  program.hook("preAction", (_root, action) => {
    const chain: Command[] = [];
    for (let c: Command | null = action; c !== null && c !== program; c = c.parent) chain.unshift(c);
    // Outermost first, so a value given later on the line wins.
    for (const command of chain) {
      for (const option of globals) {
        const key = option.attributeName();
        if (!isCopy(command, option) || command.getOptionValueSource(key) !== "cli") continue;
        program.setOptionValueWithSource(key, command.getOptionValue(key), "cli");
      }
    }
  });
}

const COPY_MARK = "(global option)";

function descendants(command: Command): Command[] {
  return command.commands.flatMap((sub) => [sub, ...descendants(sub)]);
}

/**
 * Adds hidden copies of `globals` to `command`, leaving out flags it already
 * defines, and makes its help list the global options the same way.
 */
function addCopies(command: Command, globals: readonly Option[]): void {
  const taken = new Set(command.options.flatMap((o) => [o.short, o.long]).filter((f) => f !== undefined));
  const names = new Set(command.options.map((o) => o.attributeName()));
  const shown: Option[] = [];
  for (const option of globals) {
    if (option.long === undefined || taken.has(option.long) || names.has(option.attributeName())) continue;
    const short = option.short !== undefined && !taken.has(option.short) ? `${option.short}, ` : "";
    const value = option.required ? " <value>" : option.optional ? " [value]" : "";
    command.addOption(new Option(`${short}${option.long}${value}`, COPY_MARK).hideHelp());
    const flags = short === "" ? option.flags.slice(option.flags.indexOf(option.long)) : option.flags;
    if (!option.hidden) shown.push(new Option(flags, option.description));
  }
  command.configureHelp({ ...command.configureHelp(), visibleGlobalOptions: () => shown });
}

function isCopy(command: Command, global: Option): boolean {
  return command.options.some((o) => o.long === global.long && o.description === COPY_MARK);
}
