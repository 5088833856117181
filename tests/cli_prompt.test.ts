import { assertEquals, assertRejects } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { type PromptInput, stdinPrompter } from "../shared/cli/prompt.ts";

/** A fake stdin that yields `chunks` one read at a time and records raw-mode switches. */
function fakeInput(chunks: string[], terminal: boolean): PromptInput & { raw: boolean[] } {
  const queue = chunks.map((c) => new TextEncoder().encode(c));
  const raw: boolean[] = [];
  return {
    raw,
    isTerminal: () => terminal,
    setRaw: (mode) => void raw.push(mode),
    read: (buffer) => {
      const next = queue.shift();
      if (next === undefined) return Promise.resolve(null);
      buffer.set(next);
      return Promise.resolve(next.length);
    },
  };
}

test("prompt: piped answers are read line by line, even from one chunk", async () => {
  let written = "";
  const input = fakeInput(["alice\r\nsec", "ret\nrest"], false);
  const prompter = stdinPrompter((t) => void (written += t), input);
  assertEquals(await prompter.line("Username: "), "alice");
  assertEquals(await prompter.secret("Password: "), "secret");
  assertEquals(await prompter.line("More: "), "rest");
  assertEquals(written, "Username: \nPassword: \nMore: \n");
  assertEquals(input.raw, [], "no raw mode on a pipe");
  const error = await assertRejects(() => prompter.line("Again: "));
  assertEquals(error.message, 'stdin closed before "Again" was answered');
});

test("prompt: a terminal secret is read in raw mode with backspace, Ctrl-U and Ctrl-C", async () => {
  let written = "";
  const input = fakeInput(["xx\x15pa", "sé\x7f\x7fss\rnext\n"], true);
  const prompter = stdinPrompter((t) => void (written += t), input);
  assertEquals(await prompter.secret("Password: "), "pass");
  assertEquals(input.raw, [true, false]);
  assertEquals(written, "Password: \n", "nothing echoed");
  assertEquals(await prompter.line("Username: "), "next");

  const interrupted = stdinPrompter(() => {}, fakeInput(["ab\x03"], true));
  assertEquals((await assertRejects(() => interrupted.secret("Password: "))).message, "interrupted");
  const eof = stdinPrompter(() => {}, fakeInput(["\x04"], true));
  assertEquals(
    (await assertRejects(() => eof.secret("Password: "))).message,
    'stdin closed before "Password" was answered',
  );
});
