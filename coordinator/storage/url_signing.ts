/**
 * HMAC-SHA256 signatures of the local blob store's URLs. A signed URL grants
 * one method on one object until an expiry time and, for uploads, for one
 * exact content length. The key lives in a file (mode 0600) created on first
 * use, so URLs handed out before a restart stay valid after it.
 */

/** What a signed URL allows. */
export interface BlobGrant {
  method: "GET" | "PUT";
  /** Bucket name (as on disk and in the URL). */
  bucket: string;
  key: string;
  /** Expiry, Unix time in seconds. */
  expires: number;
  /** Exact body length of an upload; null for downloads. */
  length: number | null;
}

/** Signs and verifies grants with one secret key. */
export interface UrlSigner {
  /** The hex HMAC-SHA256 of the grant. */
  sign(grant: BlobGrant): Promise<string>;
  /** True when `signature` is the grant's signature (constant-time comparison). */
  verify(grant: BlobGrant, signature: string): Promise<boolean>;
}

const KEY_BYTES = 32;
const encoder = new TextEncoder();

const toHex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

function fromHex(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^(?:[0-9a-f]{2})+$/.test(text)) return null;
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** The signed message: unambiguous whatever characters the key contains. */
function message(grant: BlobGrant): Uint8Array<ArrayBuffer> {
  return encoder.encode(
    JSON.stringify(["mitosis-blob-v1", grant.method, grant.bucket, grant.key, grant.expires, grant.length]),
  );
}

/** The key in the file, or null when the file does not exist. */
async function readKey(path: string): Promise<Uint8Array<ArrayBuffer> | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  const key = fromHex(text.trim());
  if (key === null || key.length !== KEY_BYTES) {
    throw new Error(
      `signing key file ${path} is malformed: expected ${KEY_BYTES * 2} hex digits; delete it to regenerate`,
    );
  }
  return key;
}

/** Reads the key file, or creates it (atomically, mode 0600) when absent. */
async function loadOrCreateKey(path: string): Promise<Uint8Array<ArrayBuffer>> {
  const existing = await readKey(path);
  if (existing !== null) return existing;
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(temp, toHex(crypto.getRandomValues(new Uint8Array(KEY_BYTES))) + "\n", { mode: 0o600 });
  try {
    // link() fails when another process created the file first; then its key wins.
    await Deno.link(temp, path);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  } finally {
    await Deno.remove(temp);
  }
  const created = await readKey(path);
  if (created === null) throw new Error(`signing key file ${path} vanished right after it was created`);
  return created;
}

/** Loads (or creates) the key at `keyPath` and returns a signer using it. */
export async function loadUrlSigner(keyPath: string): Promise<UrlSigner> {
  const key = await crypto.subtle.importKey(
    "raw",
    await loadOrCreateKey(keyPath),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  return {
    async sign(grant) {
      return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, message(grant))));
    },
    async verify(grant, signature) {
      const bytes = fromHex(signature);
      if (bytes === null) return false;
      return await crypto.subtle.verify("HMAC", key, bytes, message(grant));
    },
  };
}
