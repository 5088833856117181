import { Command } from "commander";
import { assertEquals } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { scopeGlobalOptions } from "../shared/cli/option_scope.ts";

/** A root with `-u`, `-p/--password`, `--json`, and `tasks query` whose own `-p` is a priority. */
function program(seen: { root?: Record<string, unknown>; leaf?: Record<string, unknown> }): Command {
  const root = new Command("mitosis").exitOverride().configureHelp({ showGlobalOptions: true })
    .option("-u, --user <name>", "user")
    .option("-p, --password <pw>", "password")
    .option("--json", "json");
  const tasks = root.command("tasks");
  tasks.command("query").option("-p, --priority <cmp>", "priority").action((opts: Record<string, unknown>) => {
    seen.leaf = opts;
  });
  tasks.command("get").argument("<uuid>").action(() => {});
  scopeGlobalOptions(root);
  root.hook("postAction", () => void (seen.root = { ...root.opts() }));
  return root;
}

test("cli option scope: a subcommand's own -p wins over the global --password; globals work anywhere", async () => {
  const seen: { root?: Record<string, unknown>; leaf?: Record<string, unknown> } = {};
  await program(seen).parseAsync(["tasks", "query", "-p", ">= 5", "-u", "bob", "--json"], { from: "user" });
  assertEquals(seen.leaf?.priority, ">= 5");
  assertEquals(seen.root, { user: "bob", json: true });

  const before: typeof seen = {};
  await program(before).parseAsync(["-p", "pw", "-u", "amy", "tasks", "query", "-u", "bob"], { from: "user" });
  assertEquals(before.root, { password: "pw", user: "bob" }, "the later -u wins");
  assertEquals(before.leaf?.priority, undefined);

  const elsewhere: typeof seen = {};
  await program(elsewhere).parseAsync(["tasks", "get", "x", "-p", "pw", "--password", "pw2"], { from: "user" });
  assertEquals(elsewhere.root, { password: "pw2" }, "-p is the password where the command has no -p");
});

test("cli option scope: help lists the global options a command leaves usable", () => {
  const root = program({});
  const query = root.commands[0].commands[0];
  const help = query.helpInformation();
  assertEquals(/^\s+--password <pw>\s+password$/m.test(help), true, help);
  assertEquals(/-p, --password/.test(help), false, help);
  assertEquals(/^\s+-p, --priority <cmp>/m.test(help), true, help);
});
