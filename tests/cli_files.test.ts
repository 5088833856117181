import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator, type TestCoordinator } from "./support/coordinator.ts";
import { type CliSandbox, cliSandbox } from "./support/cli.ts";
import { createUser, login } from "./support/http.ts";

/** Runs as the admin (alice is the first cached user, hence the default). */
const asAdmin = ["-u", ADMIN.username];

/** A coordinator and a CLI sandbox where alice is logged in (the admin too, but not first). */
async function setup(): Promise<{ coord: TestCoordinator; cli: CliSandbox } & AsyncDisposable> {
  const coord = await startTestCoordinator();
  const cli = await cliSandbox(coord.url);
  // Logged in as by `mitosis login` (tests/cli_login_auth.test.ts tests that command): tokens cached in this order.
  const admin = await login(coord.url, ADMIN.username, ADMIN.password);
  await cli.remember("alice", await createUser(coord.url, admin, "alice", "alice-pw"));
  await cli.remember(ADMIN.username, admin);
  return {
    coord,
    cli,
    [Symbol.asyncDispose]: async () => {
      await cli[Symbol.asyncDispose]();
      await coord[Symbol.asyncDispose]();
    },
  };
}

/** Writes `size` random bytes to `path` and returns them. */
async function randomFile(path: string, size: number): Promise<Uint8Array> {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, Math.min(size, i + 65536)));
  await Deno.writeFile(path, data);
  return data;
}

/** Whether two byte arrays are equal (without a huge assertion diff). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

async function storageUsed(coord: TestCoordinator, group: string): Promise<number> {
  const [row] = await coord.sql`SELECT storage_used FROM groups WHERE group_name = ${group}`;
  return Number(row.storage_used);
}

/** Pretends every upload happened two hours ago, so non-admins may delete. */
async function ageUploads(coord: TestCoordinator): Promise<void> {
  await coord.sql`UPDATE attachments SET updated_at = now() - interval '2 hours'`;
  await coord.sql`UPDATE artifacts SET updated_at = now() - interval '2 hours'`;
}

test("cli: attachments upload, query, get, download (identical bytes) and delete", async () => {
  await using env = await setup();
  const { coord, cli } = env;
  const u = ["-u", "alice"];
  const data = await randomFile(`${cli.dir}/big.bin`, 3_000_000);
  await randomFile(`${cli.dir}/small.txt`, 1000);

  // KEY ending in / gets the file name appended; KEY absent means the file name.
  const up = await cli.ok(["groups", "attachments", "upload", "big.bin", "data/", ...u]);
  assertIncludes(up.stdout, "as data/big.bin in group alice");
  assertEquals(up.stderr, "", "no progress bar when stderr is not a terminal");
  const small = JSON.parse((await cli.ok(["group", "attachment", "upload", "small.txt", "--json", ...u])).stdout);
  assertEquals(small, { group_name: "alice", key: "small.txt", size: 1000, exist: false });
  assertEquals(await storageUsed(coord, "alice"), 3_001_000);

  const query = JSON.parse((await cli.ok(["groups", "attachments", "query", "--json", ...u])).stdout);
  assertEquals(query.group_name, "alice");
  assertEquals(
    query.attachments.map((a: { key: string; size: number }) => [a.key, a.size]).sort(),
    [["data/big.bin", 3_000_000], ["small.txt", 1000]],
  );
  assertEquals((await cli.ok(["groups", "attachments", "query", "-k", "data/", "--count", ...u])).stdout, "1\n");
  const table = (await cli.ok(["groups", "attachments", "query", ...u])).stdout;
  assertTrue(/^KEY\s+SIZE\s+UPDATED$/m.test(table), table);
  assertTrue(/^data\/big\.bin\s+3 MB\s+\d{4}-/m.test(table), table);

  const meta = JSON.parse((await cli.ok(["groups", "attachments", "get", "data/big.bin", "--json", ...u])).stdout);
  assertEquals([meta.size, meta.content_type], [3_000_000, "NoSet"]);
  const humanMeta = (await cli.ok(["groups", "attachments", "get", "small.txt", ...u])).stdout;
  assertTrue(/^Key:\s+small\.txt$/m.test(humanMeta) && /^Size:\s+1 KB \(1000 bytes\)$/m.test(humanMeta), humanMeta);

  // Download: to a file, into a directory, by default to the key's path.
  await cli.ok(["groups", "attachments", "download", "data/big.bin", "-o", "copy.bin", ...u]);
  assertTrue(sameBytes(await Deno.readFile(`${cli.dir}/copy.bin`), data), "downloaded bytes identical");
  await Deno.mkdir(`${cli.dir}/into`);
  const into = JSON.parse(
    (await cli.ok(["groups", "attachments", "download", "small.txt", "-o", "into", "--json", ...u])).stdout,
  );
  assertEquals([into.path, into.size], ["into/small.txt", 1000]);
  assertEquals((await Deno.stat(`${cli.dir}/into/small.txt`)).size, 1000);
  await cli.ok(["groups", "attachments", "download", "data/big.bin", ...u]);
  assertTrue(sameBytes(await Deno.readFile(`${cli.dir}/data/big.bin`), data));
  const url = (await cli.ok(["groups", "attachments", "download", "small.txt", "--no-download", ...u])).stdout.trim();
  assertTrue(url.startsWith(`${coord.url}/`), url);
  assertEquals((await (await fetch(url)).arrayBuffer()).byteLength, 1000, "the printed URL serves the file");

  // Batch downloads by filter and by keys, two at a time, into a directory by file name.
  const many = JSON.parse(
    (await cli.ok(["groups", "attachments", "download-many", "-o", "all", "--concurrent", "2", "--json", ...u])).stdout,
  );
  assertEquals(many.downloads.map((d: { path: string }) => d.path).sort(), ["all/big.bin", "all/small.txt"]);
  assertTrue(sameBytes(await Deno.readFile(`${cli.dir}/all/big.bin`), data));
  const listed = await cli.ok(["groups", "attachments", "download-list", "small.txt", "-o", "listed", ...u]);
  assertTrue(/^small\.txt\s+1 KB\s+listed\/small\.txt$/m.test(listed.stdout), listed.stdout);
  const urls = await cli.ok(["groups", "attachments", "download-many", "-k", "big", "--no-download", ...u]);
  assertTrue(/^data\/big\.bin\s+3 MB\s+http:\/\//m.test(urls.stdout), urls.stdout);

  // Deleting a fresh upload is refused to users (its upload URL may be live); admins may.
  const early = await cli.run(["groups", "attachments", "delete", "small.txt", ...u]);
  assertEquals(early.code, 1);
  assertTrue(/^error: .*small\.txt/.test(early.stderr.trim()), early.stderr);
  await cli.ok(["admin", "groups", "attachments", "delete", "alice", "small.txt", ...asAdmin]);
  assertEquals(await storageUsed(coord, "alice"), 3_000_000);
  await ageUploads(coord);
  await cli.ok(["groups", "attachments", "delete", "data/big.bin", ...u]);
  assertEquals(await storageUsed(coord, "alice"), 0);
  const gone = await cli.run(["groups", "attachments", "get", "data/big.bin", ...u]);
  assertEquals(gone.code, 1);
  assertTrue(/^error: \S/.test(gone.stderr.trim()), gone.stderr);
});

test("cli: attachments batch deletes, other groups and errors", async () => {
  await using env = await setup();
  const { coord, cli } = env;
  const u = ["-u", "alice"];
  await randomFile(`${cli.dir}/f.bin`, 10);
  await cli.ok(["groups", "create", "team", ...asAdmin]);
  await cli.ok(["groups", "update-user", "team", "alice:write", ...asAdmin]);
  for (const key of ["a/1", "a/2", "b/1"]) {
    await cli.ok(["groups", "attachments", "upload", "f.bin", key, "-g", "team", ...u]);
  }
  assertEquals(await storageUsed(coord, "team"), 30);
  await ageUploads(coord);

  const byFilter = JSON.parse(
    (await cli.ok(["groups", "attachments", "delete-many", "-g", "team", "-k", "a/", "--json", ...u])).stdout,
  );
  assertEquals(byFilter, { deleted_count: 2, group_name: "team" });
  const byKeys = await cli.ok(["groups", "attachments", "delete-list", "-g", "team", "b/1", "zz", ...u]);
  assertIncludes(byKeys.stdout, "Deleted 1 of 2 attachment(s) from group team");
  assertIncludes(byKeys.stdout, "Not deleted:\n  zz");
  assertEquals(await storageUsed(coord, "team"), 0);

  const missingFile = await cli.run(["groups", "attachments", "upload", "nope.bin", ...u]);
  assertEquals(missingFile.code, 1);
  assertIncludes(missingFile.stderr, "error: cannot read nope.bin");
  const readOnly = await cli.run(["groups", "attachments", "upload", "f.bin", "-g", ADMIN.username, ...u]);
  assertEquals(readOnly.code, 1);
  assertTrue(/^error: \S/.test(readOnly.stderr.trim()), readOnly.stderr);
  const missing = await cli.run(["groups", "attachments", "download", "nothing", "-o", "x", ...u]);
  assertEquals(missing.code, 1);
  assertTrue(/^error: \S/.test(missing.stderr.trim()), missing.stderr);
  assertEquals([...Deno.readDirSync(cli.dir)].some((e) => e.name === "x"), false, "nothing written");
  const badKey = await cli.run(["groups", "attachments", "upload", "f.bin", "a//b", ...u]);
  assertEquals(badKey.code, 1);
  assertIncludes(badKey.stderr, "error: ");
});

test("cli: task artifacts upload, download (identical bytes), batch download and delete", async () => {
  await using env = await setup();
  const { coord, cli } = env;
  const u = ["-u", "alice"];
  const submit = async (label: string) =>
    (await cli.ok(["tasks", "submit", "-l", label, ...u, "--", "echo", label])).stdout.trim();
  const first = await submit("x");
  const second = await submit("x");
  const data = await randomFile(`${cli.dir}/result.tar.gz`, 3_000_000);
  await randomFile(`${cli.dir}/log.tar.gz`, 2048);

  const up = await cli.ok(["tasks", "artifacts", "upload", "result.tar.gz", first, "result", ...u]);
  assertIncludes(up.stdout, `as the result artifact of task ${first}`);
  const upJson = JSON.parse(
    (await cli.ok(["task", "artifact", "upload", "log.tar.gz", first, "exec", "--json", ...u])).stdout,
  );
  assertEquals(upJson, { uuid: first, content_type: "exec-log", size: 2048, exist: false });
  await cli.ok(["tasks", "artifacts", "upload", "log.tar.gz", second, "result", ...u]);
  const again = JSON.parse(
    (await cli.ok(["tasks", "artifacts", "upload", "log.tar.gz", second, "result", "--json", ...u])).stdout,
  );
  assertEquals(again.exist, true, "replacing an artifact says so");

  const task = JSON.parse((await cli.ok(["tasks", "get", first, "--json", ...u])).stdout);
  assertEquals(
    task.artifacts.map((a: { content_type: string; size: number }) => [a.content_type, a.size]).sort(),
    [["exec-log", 2048], ["result", 3_000_000]],
  );
  const human = (await cli.ok(["tasks", "get", first, ...u])).stdout;
  assertTrue(/^\s+result\s+3 MB\s+\d{4}-/m.test(human), human);

  await cli.ok(["tasks", "artifacts", "download", first, "result", ...u]);
  assertTrue(sameBytes(await Deno.readFile(`${cli.dir}/result.tar.gz`), data), "default name <type>.tar.gz");
  await cli.ok(["tasks", "artifacts", "download", first, "result", "-o", "out/r.tgz", ...u]);
  assertTrue(sameBytes(await Deno.readFile(`${cli.dir}/out/r.tgz`), data));
  const url = (await cli.ok(["tasks", "artifacts", "download", first, "exec-log", "--no-download", ...u])).stdout
    .trim();
  assertEquals((await (await fetch(url)).arrayBuffer()).byteLength, 2048);

  const list = JSON.parse(
    (await cli.ok(["tasks", "artifacts", "download-list", "result", first, second, "-o", "dl", "--json", ...u])).stdout,
  );
  assertEquals(
    list.downloads.map((d: { path: string }) => d.path).sort(),
    [`dl/${first}.tar.gz`, `dl/${second}.tar.gz`].sort(),
  );
  assertTrue(sameBytes(await Deno.readFile(`${cli.dir}/dl/${first}.tar.gz`), data));
  const many = await cli.ok([
    "tasks",
    "artifacts",
    "download-many",
    "result",
    "-l",
    "x",
    "-o",
    "many",
    "--concurrent",
    "2",
    ...u,
  ]);
  assertIncludes(many.stdout, `many/${second}.tar.gz`);
  assertEquals((await Deno.stat(`${cli.dir}/many/${second}.tar.gz`)).size, 2048);

  // Fresh artifacts: users are refused, admins are not.
  const early = await cli.run(["tasks", "artifacts", "delete", second, "result", ...u]);
  assertEquals(early.code, 1);
  assertIncludes(early.stderr, "less than an hour ago");
  await cli.ok(["admin", "tasks", "artifacts", "delete", second, "result", ...asAdmin]);
  await ageUploads(coord);
  await cli.ok(["tasks", "artifacts", "delete", first, "exec", ...u]);
  const byList = JSON.parse(
    (await cli.ok(["tasks", "artifacts", "delete-list", "result", first, second, "--json", ...u])).stdout,
  );
  assertEquals(byList, { deleted_count: 1, failed_uuids: [second] });
  await cli.ok(["tasks", "artifacts", "upload", "log.tar.gz", second, "std", ...u]);
  await ageUploads(coord);
  const byFilter = JSON.parse(
    (await cli.ok(["tasks", "artifacts", "delete-many", "std-log", "-l", "x", "--json", ...u])).stdout,
  );
  assertEquals(byFilter, { deleted_count: 1 });
  assertEquals(JSON.parse((await cli.ok(["tasks", "get", first, "--json", ...u])).stdout).artifacts, []);

  const badType = await cli.run(["tasks", "artifacts", "download", first, "binary", ...u]);
  assertEquals(badType.code, 1);
  assertIncludes(badType.stderr, '"binary" is not an artifact type');
  const absent = await cli.run(["tasks", "artifacts", "download", first, "result", ...u]);
  assertEquals(absent.code, 1);
  assertTrue(/^error: \S/.test(absent.stderr.trim()), absent.stderr);
});

/** util-linux `script`, to run the CLI with a terminal as stderr. */
const hasScript = (() => {
  try {
    return Deno.statSync("/usr/bin/script").isFile;
  } catch {
    return false;
  }
})();

/** Runs `mitosis <args>` in the sandbox under a pseudo-terminal; resolves with what the terminal showed. */
async function inTerminal(coord: TestCoordinator, cli: CliSandbox, args: string[]): Promise<string> {
  const mod = new URL("../mod.ts", import.meta.url).pathname;
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const line = [Deno.execPath(), "run", "--quiet", "--allow-all", mod, ...args].map(quote).join(" ");
  const out = await new Deno.Command("/usr/bin/script", {
    args: ["-qefc", line, "/dev/null"],
    env: {
      HOME: cli.dir,
      XDG_CONFIG_HOME: `${cli.dir}/config`,
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      MITOSIS_COORDINATOR_ADDR: coord.url,
      NO_COLOR: "1",
      TERM: "xterm",
    },
    clearEnv: true,
    cwd: cli.dir,
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, text);
  return text;
}

Deno.test({
  name: "cli: uploads and downloads draw progress bars on a terminal, never with --json",
  ignore: !hasScript, // needs util-linux script(1) for a pseudo-terminal
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await using env = await setup();
  const { coord, cli } = env;
  await randomFile(`${cli.dir}/f.bin`, 2_000_000);
  const upload = await inTerminal(coord, cli, ["groups", "attachments", "upload", "f.bin", "-u", "alice"]);
  assertTrue(/f\.bin \[[█░]+\] 100% \| 2 MB\/2 MB/.test(upload), JSON.stringify(upload));
  assertIncludes(upload, "Uploaded f.bin (2 MB) as f.bin in group alice");
  const download = await inTerminal(coord, cli, [
    "groups",
    "attachments",
    "download",
    "f.bin",
    "-o",
    "g.bin",
    "-u",
    "alice",
  ]);
  assertTrue(/f\.bin \[[█░]+\] 100%/.test(download), JSON.stringify(download));
  const json = await inTerminal(coord, cli, [
    "groups",
    "attachments",
    "download",
    "f.bin",
    "-o",
    "h.bin",
    "--json",
    "-u",
    "alice",
  ]);
  assertEquals(JSON.parse(json.replaceAll("\r", "")).path, "h.bin");
});
