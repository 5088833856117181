/**
 * The payload of a self-extracting executable: a gzip stream that
 * decompresses to one tar archive. It is made of segments, each a tar
 * stream without its end-of-archive blocks (the last segment keeps them),
 * compressed separately: gzip members concatenate into one valid stream, so
 * the large segments that rarely change (the Deno runtime, the PostgreSQL
 * binaries) are compressed once and taken from a cache keyed by their
 * content on later builds.
 */
/** Thrown when an external tool of the build fails. */
export class PayloadError extends Error {}

/** One segment: `paths` (relative to `dir`) archived from `dir`. */
export interface Segment {
  readonly dir: string;
  readonly paths: readonly string[];
  /** Paths to leave out (GNU tar `--exclude` patterns). */
  readonly exclude?: readonly string[];
}

async function run(cmd: string, args: string[], input?: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Feed stdin while stdout is drained: the tool's output would otherwise fill its pipe and stall both.
  const fed = input === undefined ? Promise.resolve() : (async () => {
    const writer = child.stdin.getWriter();
    await writer.write(input);
    await writer.close();
  })();
  const [out] = await Promise.all([child.output(), fed]);
  if (!out.success) {
    throw new PayloadError(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return out.stdout;
}

/** SHA-256 of `data` as lowercase hex. */
export async function sha256Hex(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A tar stream of `segment`, reproducible (sorted, fixed owner and time), with or without its end blocks. */
async function tarSegment(segment: Segment, last: boolean): Promise<Uint8Array<ArrayBuffer>> {
  const args = [
    "--create",
    "--file=-",
    "--format=gnu",
    "--blocking-factor=1",
    "--sort=name",
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "--mtime=@0",
    `--directory=${segment.dir}`,
  ];
  for (const pattern of segment.exclude ?? []) args.push(`--exclude=${pattern}`);
  args.push("--", ...segment.paths);
  const tar = await run("tar", args);
  // With a blocking factor of 1 the archive ends with exactly two zero blocks.
  const end = tar.subarray(tar.length - 1024);
  if (tar.length < 1024 || end.some((b) => b !== 0)) throw new PayloadError("tar did not end with two zero blocks");
  return last ? tar : tar.subarray(0, tar.length - 1024);
}

/**
 * Builds the payload of `segments` (all but the last cached under
 * `cacheDir` by content); returns it and the size of what it extracts to.
 */
export async function buildPayload(
  segments: readonly Segment[],
  cacheDir: string,
): Promise<{ payload: Uint8Array<ArrayBuffer>; extractedBytes: number }> {
  await Deno.mkdir(cacheDir, { recursive: true });
  const parts: Uint8Array[] = [];
  let extractedBytes = 0;
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    const tar = await tarSegment(segment, last);
    extractedBytes += tar.length;
    const cached = `${cacheDir}/${await sha256Hex(tar)}${last ? "-end" : ""}.gz`;
    let gz: Uint8Array;
    try {
      gz = await Deno.readFile(cached);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      gz = await run("gzip", ["-6", "-n", "-c"], tar);
      if (!last) {
        const tmp = `${cached}.${crypto.randomUUID()}`;
        await Deno.writeFile(tmp, gz);
        await Deno.rename(tmp, cached);
      }
    }
    parts.push(gz);
  }
  const payload = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    payload.set(part, offset);
    offset += part.length;
  }
  return { payload, extractedBytes };
}
