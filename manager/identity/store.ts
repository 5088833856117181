/**
 * The manager's identity on disk: `<state_dir>/identity.json` holding its
 * uuid and manager token (mode 0600, replaced atomically). A manager
 * registers once and reuses this file on every start.
 */
import { z } from "zod";

/** What the identity file holds. */
export const StoredIdentitySchema = z.object({
  manager_uuid: z.uuid(),
  token: z.string().min(1),
  /** The coordinator it registered with (informational: several coordinators may share a database). */
  coordinator_addr: z.string(),
  registered_at: z.string(),
});
/** A stored identity. */
export type StoredIdentity = z.infer<typeof StoredIdentitySchema>;

/** The identity file of a state dir. */
export function identityPath(stateDir: string): string {
  return `${stateDir}/identity.json`;
}

/** An identity file that exists but cannot be used. */
export class IdentityFileError extends Error {
  constructor(path: string, reason: string) {
    super(`identity file ${path} is unusable (${reason}); remove it to register this manager again`);
    this.name = "IdentityFileError";
  }
}

/** Reads the identity; null when the file does not exist. Throws `IdentityFileError` when it is malformed. */
export async function readIdentity(stateDir: string): Promise<StoredIdentity | null> {
  const path = identityPath(stateDir);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new IdentityFileError(path, (error as Error).message);
  }
  const parsed = StoredIdentitySchema.safeParse(json);
  if (!parsed.success) throw new IdentityFileError(path, parsed.error.issues.map((i) => i.message).join("; "));
  return parsed.data;
}

/** Writes the identity atomically with mode 0600. */
export async function writeIdentity(stateDir: string, identity: StoredIdentity): Promise<void> {
  const path = identityPath(stateDir);
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(temp, JSON.stringify(identity, null, 2) + "\n", { mode: 0o600, createNew: true });
    await Deno.chmod(temp, 0o600);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {/* the temp file may never have been created */});
    throw error;
  }
}
