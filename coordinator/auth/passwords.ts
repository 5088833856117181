/**
 * Password storage: clients send the MD5 digest of the password; the
 * coordinator stores a memory-hard scrypt hash of those 16 bytes (node:crypto),
 * never the digest itself.
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
