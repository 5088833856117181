/**
 * A fixture shared by several tests of one file (typically an in-process
 * coordinator with its users), for tests whose subjects do not depend on a
 * fresh database: each works on users, groups, suites or tasks of its own,
 * and none counts rows across a whole table or needs settings of its own.
 * A test that does keeps its own coordinator.
 *
 * `fixture.test(name, fn)` registers a test like `test()` and hands it the
 * fixture: created by the first of them to run, disposed after the last one
 * registered has run, pass or fail. (A run filtered to some of the tests
 * leaves the fixture to the process's exit.)
 */
import { test } from "./test.ts";

/** Tests sharing one lazily created fixture. */
export interface FileFixture<T> {
  test(name: string, fn: (fixture: T) => Promise<void>): void;
}

/** Shares what `create` makes between the tests registered through the result. */
export function fileFixture<T extends AsyncDisposable>(create: () => Promise<T>): FileFixture<T> {
  let created: Promise<T> | undefined;
  let remaining = 0;
  return {
    test(name, fn) {
      remaining++;
      test(name, async () => {
        try {
          created ??= create();
          await fn(await created);
        } finally {
          if (--remaining === 0 && created !== undefined) {
            const last = created;
            created = undefined;
            await (await last.catch(() => null))?.[Symbol.asyncDispose]();
          }
        }
      });
    },
  };
}
