import { assertEquals } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { credentialPath, findCredential, readCredentials, saveCredential } from "../shared/client/credentials.ts";
import { addSingularAliases, singularOf } from "../shared/cli/aliases.ts";
import { parseRelations } from "../shared/cli/commands/groups.ts";
import { formatBytes, renderTable } from "../shared/cli/output.ts";
import { Command } from "commander";

test("credentials: upsert keeps order and unrelated lines, first line is the default", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mitosis-test-creds-" });
  try {
    const path = `${dir}/nested/credentials`;
    assertEquals(await readCredentials(path), []);
    assertEquals(await findCredential(path), undefined);
    await saveCredential(path, "alice", "t1");
    await saveCredential(path, "bob", "t2");
    await saveCredential(path, "alice", "t3");
    assertEquals(await Deno.readTextFile(path), "alice:t3\nbob:t2\n");
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    assertEquals(await findCredential(path), { username: "alice", token: "t3" });
    assertEquals(await findCredential(path, "bob"), { username: "bob", token: "t2" });
    assertEquals(await findCredential(path, "carol"), undefined);

    // Files written by the existing Mitosis have no trailing newline; junk lines survive an upsert.
    await Deno.writeTextFile(path, "# note\r\ncarol:abc\r\nbob:old");
    assertEquals(await readCredentials(path), [{ username: "carol", token: "abc" }, { username: "bob", token: "old" }]);
    await saveCredential(path, "bob", "new");
    assertEquals(await Deno.readTextFile(path), "# note\ncarol:abc\nbob:new\n");
    assertEquals(await Array.fromAsync(Deno.readDir(`${dir}/nested`)).then((e) => e.length), 1, "no temp file left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("credentials: default path follows XDG_CONFIG_HOME, then ~/.config", () => {
  assertEquals(credentialPath(undefined, { XDG_CONFIG_HOME: "/x" }), "/x/mitosis/credentials");
  assertEquals(credentialPath(undefined, { HOME: "/home/u" }), "/home/u/.config/mitosis/credentials");
  assertEquals(credentialPath("/etc/creds", { XDG_CONFIG_HOME: "/x" }), "/etc/creds");
});

test("cli helpers: singular aliases, user:role parsing, tables and sizes", () => {
  assertEquals(["suites", "groups", "status", "address", "s"].map(singularOf), ["suite", "group", null, null, null]);
  const root = new Command("mitosis");
  const suites = root.command("suites");
  suites.command("create");
  const leaf = root.command("tasks"); // no subcommands: no alias
  const admin = root.command("admin");
  admin.command("users").command("create");
  addSingularAliases(root);
  assertEquals(suites.aliases(), ["suite"]);
  assertEquals(leaf.aliases(), []);
  assertEquals(admin.commands[0].aliases(), ["user"]);

  assertEquals(parseRelations(["alice:write", "bob:Admin"]), { alice: "write", bob: "Admin" });
  for (const bad of ["alice", ":read", "alice:"]) {
    let message = "";
    try {
      parseRelations([bad]);
    } catch (error) {
      message = (error as Error).message;
    }
    assertEquals(message, `"${bad}" is not user:role (role: read, write or admin)`);
  }

  assertEquals(
    renderTable(["group", "role"], [["bob", "Admin"], ["a-long-name", "Read"]]),
    [
      "GROUP        ROLE",
      "bob          Admin",
      "a-long-name  Read",
    ].join("\n"),
  );
  assertEquals([0, 999, 1000, 1_500_000, 16_000_000_000].map(formatBytes), ["0 B", "999 B", "1 KB", "1.5 MB", "16 GB"]);
});
