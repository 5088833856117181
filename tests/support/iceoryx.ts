/**
 * Making sure iceoryx (Debian's `iceoryx` and `libiceoryx-binding-c-dev`:
 * `iox-roudi` and the C binding) is installed before iceoryx tests run,
 * installing it with apt-get when the test runs as root.
 */
import { findRoudiBinary, ICEORYX_LIBRARY } from "../../shared/ipc/iceoryx/roudi.ts";

/** Whether iceoryx can be used, or why not. */
export type IceoryxInstall = { ok: true } | { ok: false; reason: string };

const PACKAGES = ["iceoryx", "libiceoryx-binding-c-dev"];
const LIBRARY_DIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib"];

/** Whether the iceoryx C binding is in the dynamic linker's cache or a usual library directory. */
async function libraryPresent(): Promise<boolean> {
  for (const dir of LIBRARY_DIRS) {
    try {
      if ((await Deno.stat(`${dir}/${ICEORYX_LIBRARY}`)).isFile) return true;
    } catch {
      continue;
    }
  }
  const cache = await run("ldconfig", ["-p"]);
  return cache.code === 0 && cache.output.includes(ICEORYX_LIBRARY);
}

/** Runs a command quietly; its exit code and combined output (127 when it cannot start). */
async function run(program: string, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const out = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }).output();
    const decoder = new TextDecoder();
    return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
  } catch (error) {
    return { code: 127, output: error instanceof Error ? error.message : String(error) };
  }
}

/** What is missing, or null when both `iox-roudi` and the C binding are there. */
async function missing(): Promise<string | null> {
  const parts: string[] = [];
  if (findRoudiBinary() === null) parts.push("iox-roudi");
  if (!(await libraryPresent())) parts.push(ICEORYX_LIBRARY);
  return parts.length === 0 ? null : parts.join(" and ");
}

/** Installs the packages; `apt-get update` once when the first try fails. */
async function install(): Promise<IceoryxInstall> {
  const args = ["install", "-y", "-q", ...PACKAGES];
  let result = await run("apt-get", args);
  if (result.code !== 0) {
    await run("apt-get", ["update", "-q"]);
    result = await run("apt-get", args);
  }
  if (result.code !== 0) return { ok: false, reason: `apt-get install failed:\n${result.output.slice(-2000)}` };
  const still = await missing();
  return still === null ? { ok: true } : { ok: false, reason: `${still} still missing after apt-get install` };
}

let checked: Promise<IceoryxInstall> | null = null;

/**
 * Whether iceoryx is usable, installing its packages with apt-get when
 * something is missing and this process runs as root with apt-get
 * available. Done once per process; later calls share the answer.
 */
export function ensureIceoryxInstalled(): Promise<IceoryxInstall> {
  checked ??= (async (): Promise<IceoryxInstall> => {
    const absent = await missing();
    if (absent === null) return { ok: true };
    if (Deno.uid() !== 0) {
      return { ok: false, reason: `${absent} missing, and not root to install ${PACKAGES.join(" ")}` };
    }
    if ((await run("apt-get", ["--version"])).code !== 0) {
      return { ok: false, reason: `${absent} missing, and no apt-get to install it` };
    }
    return await install();
  })();
  return checked;
}
