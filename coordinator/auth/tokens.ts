/**
 * Access tokens: Ed25519-signed JWTs (npm:jose) with claims `{sub, exp, sign}`,
 * sent as the standard base64 of the JWT like the existing Mitosis. `sign`
 * must equal the subject's current signature, so rotating it revokes tokens.
 */
import { generateKeyPairSync } from "node:crypto";
import { importPKCS8, importSPKI, jwtVerify, SignJWT } from "jose";
import type { Logger } from "../../shared/log/logger.ts";

/** What a token authenticates: a user (no claim), a worker or a node manager. */
export type TokenKind = "user" | "worker" | "manager";

/** Claims of a verified token. */
export interface TokenClaims {
  kind: TokenKind;
  /** Username (user tokens) or worker/manager uuid. */
  sub: string;
  /** Expiry, unix seconds. */
  exp: number;
  /** Signature value that must match the subject's current one. */
  sign: number;
}

/** Signs and verifies access tokens with one key pair. */
export interface TokenKeys {
  issue(sub: string, sign: number, lifetimeMs: number, kind?: TokenKind): Promise<string>;
  /** Returns the claims, or null for a malformed, forged or expired token. */
  verify(token: string): Promise<TokenClaims | null>;
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * Loads the PEM key pair, generating it on first start when both files are
 * missing. One file present without the other is a configuration error.
 */
export async function loadTokenKeys(privatePath: string, publicPath: string, log: Logger): Promise<TokenKeys> {
  let privatePem = await readOrNull(privatePath);
  let publicPem = await readOrNull(publicPath);
  if (privatePem === null && publicPem === null) {
    const pair = generateKeyPairSync("ed25519", {
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    privatePem = pair.privateKey;
    publicPem = pair.publicKey;
    for (const path of [privatePath, publicPath]) {
      const dir = path.replace(/\/[^/]*$/, "");
      if (dir && dir !== path) await Deno.mkdir(dir, { recursive: true });
    }
    await Deno.writeTextFile(privatePath, privatePem, { mode: 0o600, createNew: true });
    await Deno.writeTextFile(publicPath, publicPem, { createNew: true });
    log.info("generated Ed25519 token key pair", { private_path: privatePath, public_path: publicPath });
  } else if (privatePem === null || publicPem === null) {
    throw new Error(`token key pair incomplete: ${privatePem === null ? privatePath : publicPath} is missing`);
  }
  const privateKey = await importPKCS8(privatePem, "EdDSA");
  const publicKey = await importSPKI(publicPem, "EdDSA");
  return {
    issue: async (sub, sign, lifetimeMs, kind = "user") => {
      const jwt = await new SignJWT(kind === "user" ? { sign } : { sign, kind })
        .setProtectedHeader({ alg: "EdDSA", typ: "JWT" })
        .setSubject(sub)
        .setExpirationTime(Math.floor((Date.now() + lifetimeMs) / 1000))
        .sign(privateKey);
      return btoa(jwt);
    },
    verify: async (token) => {
      let jwt: string;
      try {
        jwt = atob(token);
      } catch {
        return null;
      }
      try {
        const { payload } = await jwtVerify(jwt, publicKey, { algorithms: ["EdDSA"] });
        if (typeof payload.sub !== "string" || typeof payload.exp !== "number" || typeof payload.sign !== "number") {
          return null;
        }
        const kind = payload.kind === undefined ? "user" : payload.kind;
        if (kind !== "user" && kind !== "worker" && kind !== "manager") return null;
        return { kind, sub: payload.sub, exp: payload.exp, sign: payload.sign };
      } catch {
        return null;
      }
    },
  };
}

/** A fresh random token signature (53 bits, safe as a JS number and a bigint column). */
export function newSignature(): number {
  const bytes = crypto.getRandomValues(new Uint32Array(2));
  return (bytes[0] & 0x1f_ffff) * 2 ** 32 + bytes[1];
}
