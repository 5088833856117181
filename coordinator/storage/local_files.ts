/**
 * The files behind the local blob store: object `<key>` of bucket `<bucket>`
 * is the file `<root>/<bucket>/<key>`. Uploads stream into a temporary file
 * under `<root>/.uploads` and are renamed into place only when complete, so a
 * reader never sees a partial object and a failed upload leaves nothing.
 *
 * Limitation of a file tree (S3 has none): a key cannot be both an object and
 * the directory of another (`a` and `a/b`); such an upload is refused with
 * `ObjectKeyConflict`.
 *
 * Objects are mode 0600 in 0700 directories, so only the coordinator's user
 * reads them even where the data directory above is searchable by others
 * (the embedded PostgreSQL's user needs that to reach its own data).
 */

/** A key that cannot name a file below its bucket (empty, `.` or `..` segments, NUL, over-long names). */
export class InvalidObjectKey extends Error {
  constructor(key: string, reason: string) {
    super(`object key ${JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}...` : key)} ${reason}`);
    this.name = "InvalidObjectKey";
  }
}

/** An upload whose key collides with a directory of other objects, or runs through an object. */
export class ObjectKeyConflict extends Error {
  constructor(key: string) {
    super(`object key ${JSON.stringify(key)} conflicts with an existing object's path`);
    this.name = "ObjectKeyConflict";
  }
}

/** An upload body whose length differs from the announced one. */
export class LengthMismatch extends Error {
  constructor(readonly expected: number, readonly received: number, more: boolean) {
    super(`upload must be exactly ${expected} bytes, got ${more ? "more than " : ""}${received}`);
    this.name = "LengthMismatch";
  }
}

/** An object opened for reading. */
export interface OpenObject {
  file: Deno.FsFile;
  size: number;
}

/** Filesystem operations on the objects of the local store. */
export interface LocalObjects {
  /** Creates the bucket directories and the upload directory, and removes stale partial uploads. */
  prepare(buckets: string[]): Promise<void>;
  /** Streams `body` into the object; it must be exactly `length` bytes (else `LengthMismatch`). */
  write(bucket: string, key: string, body: ReadableStream<Uint8Array> | null, length: number): Promise<void>;
  /** Opens the object, or null when it does not exist. */
  open(bucket: string, key: string): Promise<OpenObject | null>;
  /** The object's size, or null when it does not exist. */
  size(bucket: string, key: string): Promise<number | null>;
  /** Deletes the object (a missing one is fine) and the directories it leaves empty. */
  remove(bucket: string, key: string): Promise<void>;
}

/** Partial uploads older than this are removed at start. */
const STALE_UPLOAD_MS = 24 * 3600 * 1000;

/** Objects and their directories are private to the coordinator's user: no other local user reads them. */
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/**
 * Creates a directory (and its parents) private to this user, and makes an
 * existing one private (stores written by older versions were 0755).
 */
export async function privateDir(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode: PRIVATE_DIR });
  await Deno.chmod(path, PRIVATE_DIR);
}

/** Errors meaning "there is no such object". */
const isMissing = (error: unknown) =>
  error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory;

/** Longest file name (bytes) common file systems accept. */
const NAME_MAX_BYTES = 255;
const encoder = new TextEncoder();

/** The key's path segments; throws `InvalidObjectKey` unless every segment can be a file name. */
export function segmentsOf(key: string): string[] {
  const segments = key.split("/");
  if (segments.some((s) => s === "" || s === "." || s === ".." || s.includes("\0"))) {
    throw new InvalidObjectKey(key, "is not a relative path of plain names");
  }
  if (segments.some((s) => encoder.encode(s).length > NAME_MAX_BYTES)) {
    throw new InvalidObjectKey(key, `has a path segment longer than ${NAME_MAX_BYTES} bytes`);
  }
  return segments;
}

/** Counts bytes and fails the stream as soon as it exceeds `limit`. */
function lengthLimit(limit: number, counted: { bytes: number }): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      counted.bytes += chunk.byteLength;
      if (counted.bytes > limit) controller.error(new LengthMismatch(limit, counted.bytes, true));
      else controller.enqueue(chunk);
    },
  });
}

/** Object files under `root`. Bucket names must already be validated as plain directory names. */
export function localObjects(root: string): LocalObjects {
  const uploads = `${root}/.uploads`;
  const pathOf = (bucket: string, key: string) => `${root}/${bucket}/${segmentsOf(key).join("/")}`;

  async function removeEmptyParents(bucket: string, key: string): Promise<void> {
    const segments = segmentsOf(key);
    for (let depth = segments.length - 1; depth > 0; depth--) {
      try {
        await Deno.remove(`${root}/${bucket}/${segments.slice(0, depth).join("/")}`);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === "ENOTEMPTY" || code === "EEXIST" || isMissing(error)) return;
        throw error;
      }
    }
  }

  /** Moves a complete upload into place, creating its directories. */
  async function install(temp: string, bucket: string, key: string): Promise<void> {
    const target = pathOf(bucket, key);
    const parent = target.slice(0, target.lastIndexOf("/"));
    // A concurrent delete may prune the fresh directory before the rename: retry.
    for (let attempt = 1;; attempt++) {
      try {
        await Deno.mkdir(parent, { recursive: true, mode: PRIVATE_DIR });
        await Deno.rename(temp, target);
        return;
      } catch (error) {
        if (
          error instanceof Deno.errors.NotADirectory || error instanceof Deno.errors.AlreadyExists ||
          error instanceof Deno.errors.IsADirectory
        ) throw new ObjectKeyConflict(key);
        if (!(error instanceof Deno.errors.NotFound) || attempt >= 3) throw error;
      }
    }
  }

  return {
    async prepare(buckets) {
      for (const bucket of buckets) await privateDir(`${root}/${bucket}`);
      await privateDir(uploads);
      for await (const entry of Deno.readDir(uploads)) {
        const path = `${uploads}/${entry.name}`;
        const info = await Deno.stat(path);
        if (Date.now() - (info.mtime?.getTime() ?? 0) > STALE_UPLOAD_MS) await Deno.remove(path, { recursive: true });
      }
    },

    async write(bucket, key, body, length) {
      pathOf(bucket, key); // validate before taking any bytes
      const temp = `${uploads}/${crypto.randomUUID()}`;
      const file = await Deno.open(temp, { write: true, createNew: true, mode: PRIVATE_FILE });
      let installed = false;
      try {
        const counted = { bytes: 0 };
        if (body === null) file.close();
        else await body.pipeThrough(lengthLimit(length, counted)).pipeTo(file.writable);
        if (counted.bytes !== length) throw new LengthMismatch(length, counted.bytes, false);
        await install(temp, bucket, key);
        installed = true;
      } finally {
        if (!installed) {
          await Deno.remove(temp).catch((error) => {
            if (!isMissing(error)) throw error;
          });
        }
      }
    },

    async open(bucket, key) {
      let file: Deno.FsFile;
      try {
        file = await Deno.open(pathOf(bucket, key), { read: true });
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
      const info = await file.stat();
      if (!info.isFile) {
        file.close();
        return null;
      }
      return { file, size: info.size };
    },

    async size(bucket, key) {
      try {
        const info = await Deno.stat(pathOf(bucket, key));
        return info.isFile ? info.size : null;
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },

    async remove(bucket, key) {
      try {
        const info = await Deno.stat(pathOf(bucket, key));
        if (!info.isFile) return;
        await Deno.remove(pathOf(bucket, key));
      } catch (error) {
        if (isMissing(error)) return;
        throw error;
      }
      await removeEmptyParents(bucket, key);
    },
  };
}
