/**
 * The password digest of the wire protocol: clients send MD5(password) as 16
 * bytes, never the password itself.
 */
import { createHash } from "node:crypto";

/** MD5 digest of a password as bytes. */
export function md5Bytes(password: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash("md5").update(password, "utf8").digest());
}

/** MD5 digest of a password as the JSON array the API expects. */
export function md5Array(password: string): number[] {
  return Array.from(md5Bytes(password));
}
