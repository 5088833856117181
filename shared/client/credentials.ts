/**
 * The client credential cache, in the existing Mitosis format: one
 * `username:token` per line, the first line being the default user. The file
 * lives at `credential_path` or `$XDG_CONFIG_HOME/mitosis/credentials` and is
 * written with mode 0600. Tokens are not tied to a coordinator URL (as in
 * Mitosis v0.6.8), so use one credential file per coordinator.
 */
import { configHome } from "../config/load.ts";

/** One cached login. */
export interface Credential {
  username: string;
  token: string;
}

/** The credential file path: `configured`, else `$XDG_CONFIG_HOME/mitosis/credentials` (XDG default `~/.config`). */
export function credentialPath(configured: string | undefined, env: Record<string, string>): string {
  return configured ?? `${configHome(env)}/mitosis/credentials`;
}

/** Parses one line; `null` for blank or malformed lines (no `:`, empty user or token). */
function parseLine(line: string): Credential | null {
  const colon = line.indexOf(":");
  if (colon <= 0) return null;
  const username = line.slice(0, colon).trim();
  const token = line.slice(colon + 1).trim();
  return username && token ? { username, token } : null;
}

/** The raw lines of the file, `[]` when it does not exist. */
async function readLines(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return text.split("\n").map((line) => line.replace(/\r$/, "")).filter((line) => line.trim() !== "");
}

/** Every well-formed credential in the file, in file order; `[]` when the file does not exist. */
export async function readCredentials(path: string): Promise<Credential[]> {
  return (await readLines(path)).map(parseLine).filter((c): c is Credential => c !== null);
}

/** The cached credential of `username`, or of the first user in the file when none is given. */
export async function findCredential(path: string, username?: string): Promise<Credential | undefined> {
  const all = await readCredentials(path);
  return username === undefined ? all[0] : all.find((c) => c.username === username);
}

/**
 * Stores `token` for `username`: replaces that user's line in place, or
 * appends one. Other lines are kept as they are. The file is replaced
 * atomically and has mode 0600; missing parent directories are created (0700).
 */
export async function saveCredential(path: string, username: string, token: string): Promise<void> {
  if (username.includes(":") || /[\r\n]/.test(username) || /[\r\n]/.test(token)) {
    throw new Error(`cannot cache a credential for "${username}": names and tokens must not contain ':' or newlines`);
  }
  const lines = await readLines(path);
  const entry = `${username}:${token}`;
  let found = false;
  const updated = lines.map((line) => {
    if (parseLine(line)?.username !== username) return line;
    found = true;
    return entry;
  });
  if (!found) updated.push(entry);

  const slash = path.lastIndexOf("/");
  const dir = slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(temp, updated.join("\n") + "\n", { mode: 0o600 });
    await Deno.chmod(temp, 0o600);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {/* the temp file may never have been created */});
    throw error;
  }
}
