/**
 * `selectTransport`: `unix` always works; `auto` falls back to `unix` (and
 * says why) when `libiceoryx2_ffi_c.so` cannot be loaded; an explicit
 * `iceoryx2` or `iceoryx` without its library fails with an error naming
 * the library and the variable that points to it.
 */
import { createLogger } from "../shared/log/logger.ts";
import {
  ICEORYX2_LIB_ENV,
  ICEORYX2_LIBRARY,
  IpcBackendUnavailableError,
  parseIpcBackendName,
  probeIceoryx2,
  selectTransport,
} from "../shared/ipc/select.ts";
import { unixTransport } from "../shared/ipc/unix.ts";
import { assertEquals, assertIncludes, assertRejects, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";

/** A logger collecting its lines. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: createLogger("ipc", "debug", {}, (line) => lines.push(JSON.parse(line))) };
}

const missingLib = { [ICEORYX2_LIB_ENV]: "/nonexistent/mitosis-test/libiceoryx2_ffi_c.so" };

/** Runs `fn` and returns what it throws. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

test("select: unix is the unix transport", () => {
  assertEquals(selectTransport("unix", {}), unixTransport);
  const { log } = capture();
  assertEquals(selectTransport("unix", {}, { log }).name, "unix");
});

test("select: auto falls back to unix when the iceoryx2 library is absent, and logs why", () => {
  const { lines, log } = capture();
  const transport = selectTransport("auto", missingLib, { log });
  assertEquals(transport.name, "unix");
  const line = lines.find((l) => String(l.msg).includes("IPC transport: unix"));
  assertTrue(line !== undefined, `a line naming the choice in ${JSON.stringify(lines)}`);
  assertEquals(line.library, missingLib[ICEORYX2_LIB_ENV]);
  assertIncludes(String(line.reason), "libiceoryx2_ffi_c.so");
});

test("select: auto with the library looked up on the loader path (absent here) is unix", () => {
  const probe = probeIceoryx2({});
  assertEquals(probe.path, ICEORYX2_LIBRARY);
  if (probe.ok) {
    console.warn(`${ICEORYX2_LIBRARY} is installed on this machine: skipping the absent-library check`);
    return;
  }
  const { lines, log } = capture();
  assertEquals(selectTransport("auto", {}, { log }).name, "unix");
  assertTrue(lines.some((l) => l.library === ICEORYX2_LIBRARY));
});

test("select: a library without the iceoryx2 C API is not mistaken for it", () => {
  const libc = ["/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6"]
    .find((p) => {
      try {
        return Deno.statSync(p).isFile;
      } catch {
        return false;
      }
    });
  if (libc === undefined) {
    console.warn("no libc.so.6 found at the usual paths: skipping");
    return;
  }
  const probe = probeIceoryx2({ [ICEORYX2_LIB_ENV]: libc });
  assertEquals(probe.ok, false);
  assertIncludes(probe.ok ? "" : probe.reason, "iox2_node_builder_new");
  assertEquals(selectTransport("auto", { [ICEORYX2_LIB_ENV]: libc }, capture()).name, "unix");
});

test("select: an explicit iceoryx2 without its library fails naming the library", () => {
  const error = thrown(() => selectTransport("iceoryx2", missingLib, capture()));
  assertTrue(error instanceof IpcBackendUnavailableError);
  assertIncludes(error.message, ICEORYX2_LIBRARY);
  assertIncludes(error.message, missingLib[ICEORYX2_LIB_ENV]);
  assertIncludes(error.message, ICEORYX2_LIB_ENV);
});

test("select: an explicit iceoryx without its library fails naming the library and MITOSIS_ICEORYX_LIB", () => {
  const env = { MITOSIS_ICEORYX_LIB: "/nonexistent/mitosis-test/libiceoryx_binding_c.so.2" };
  const error = thrown(() => selectTransport("iceoryx", env, capture()));
  assertTrue(error instanceof IpcBackendUnavailableError);
  assertIncludes(error.message, "/nonexistent/mitosis-test/libiceoryx_binding_c.so.2");
  assertIncludes(error.message, "MITOSIS_ICEORYX_LIB");
  assertIncludes(error.message, "libiceoryx-binding-c-dev");
});

test("select: unknown backend names are refused with the valid ones listed", async () => {
  const error = thrown(() => parseIpcBackendName("zeromq"));
  assertIncludes(error.message, '"zeromq"');
  assertIncludes(error.message, "auto, unix, iceoryx, iceoryx2");
  assertEquals(parseIpcBackendName("iceoryx2"), "iceoryx2");
  await assertRejects(() => Promise.resolve().then(() => selectTransport("zeromq" as "unix", {}, capture())));
});
