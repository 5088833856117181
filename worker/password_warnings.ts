/**
 * Warnings about where a daemon's password sits (shared by `mitosis-worker`
 * and `mitosis-manager`), apart from `login.ts` so that a manager that needs
 * no login (its identity is stored) does not load the coordinator client.
 */
import type { Logger } from "../shared/log/logger.ts";

/**
 * Logs a warning when the password was given on the command line
 * (`source` as `loadConfig` reports it): `ps` and `/proc/<pid>/cmdline` show
 * it to every local user and to task code.
 */
export function warnIfPasswordOnCommandLine(source: string | undefined, log: Logger): void {
  if (source?.startsWith("flag ")) {
    log.warn(
      "password given on the command line, where other processes can read it; use MITOSIS_PASSWORD or --password-file",
      {
        source,
      },
    );
  }
}

/**
 * Logs a warning for each file holding the password (the config file when
 * it sets `password`, the `password_file`) that users other than its owner
 * may read: task code and other local users could read the password there.
 */
export function warnIfPasswordReadable(
  files: { configFile?: string; passwordSource?: string; passwordFile?: string },
  log: Logger,
): void {
  const paths = [
    files.passwordSource?.startsWith("file ") ? files.configFile : undefined,
    files.passwordFile,
  ];
  for (const path of paths) {
    if (path === undefined) continue;
    try {
      const mode = Deno.statSync(path).mode ?? 0;
      if ((mode & 0o077) !== 0) {
        log.warn("a file holding the password is readable by other users; chmod 600 it", {
          path,
          mode: (mode & 0o777).toString(8),
        });
      }
    } catch {
      // A missing password file is reported when it is read.
    }
  }
}
