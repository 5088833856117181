/**
 * Password storage: clients send the MD5 digest of the password; the
 * coordinator stores a memory-hard scrypt hash of those 16 bytes (node:crypto),
 * never the digest itself. A login for a user that does not exist runs the
 * same scrypt against a dummy hash, so its timing does not tell which user
 * names exist.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";

/** scrypt cost parameters: N = 2^15, r = 8, p = 1 (32 MiB per hash). */
const COST = { N: 1 << 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function derive(password: Uint8Array, salt: Uint8Array, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r }, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

/** Hashes MD5 password bytes as `scrypt$N$r$p$<salt b64>$<hash b64>`. */
export async function hashPassword(md5: Uint8Array): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(md5, salt, COST.N, COST.r, COST.p);
  return `scrypt$${COST.N}$${COST.r}$${COST.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** Checks MD5 password bytes against a stored hash in constant time. */
export async function verifyPassword(md5: Uint8Array, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const expected = Buffer.from(parts[5], "base64");
  const key = await derive(md5, Buffer.from(parts[4], "base64"), N, r, p);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash of random bytes with the current cost, made once, for logins of unknown users. */
let dummyHash: Promise<string> | undefined;

/**
 * Spends the time of one `verifyPassword` with the current cost and
 * resolves to false: the check for a user that does not exist.
 */
export async function verifyAgainstDummy(md5: Uint8Array): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(16));
  await verifyPassword(md5, await dummyHash);
  return false;
}
