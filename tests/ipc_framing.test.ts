/**
 * Length-prefixed JSON framing: frames cut out of any chunking (split
 * headers and bodies, many frames per chunk), oversize headers refused after
 * the frames before them, encoding limits, and a writer whose concurrent
 * sends never interleave on a real socket.
 */
import {
  ConnectionClosedError,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FramedConn,
  FrameDecoder,
  FrameTooLargeError,
} from "../shared/ipc/framing.ts";
import { createLogger } from "../shared/log/logger.ts";
import { assertEquals, assertRejects, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";

const decoder = new TextDecoder();
const log = createLogger("test-framing", "off");

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Messages of assorted sizes, including empty strings and multi-byte characters. */
function messages(count: number, random: () => number): unknown[] {
  return Array.from({ length: count }, (_, i) => ({
    i,
    text: "é€😀x".repeat(Math.floor(random() * 2000)),
  }));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

test("framing: frames survive every chunking (byte by byte, random splits, all at once)", () => {
  const random = prng(7);
  const sent = messages(200, random);
  const stream = concat(sent.map((m) => encodeFrame(m)));
  const splitters: [string, () => number][] = [
    ["byte by byte", () => 1],
    ["random 1..50", () => 1 + Math.floor(random() * 50)],
    ["random 1..70000", () => 1 + Math.floor(random() * 70_000)],
    ["whole stream", () => stream.length],
  ];
  for (const [label, size] of splitters) {
    const frameDecoder = new FrameDecoder();
    const received: unknown[] = [];
    for (let offset = 0; offset < stream.length;) {
      const end = Math.min(stream.length, offset + size());
      for (const body of frameDecoder.push(stream.subarray(offset, end))) {
        received.push(JSON.parse(decoder.decode(body)));
      }
      offset = end;
    }
    assertEquals(received, sent, label);
    assertEquals(frameDecoder.buffered, 0, `${label}: nothing left over`);
  }
});

test("framing: a partial frame is held back and counted", () => {
  const frame = encodeFrame({ hello: "world" });
  const frameDecoder = new FrameDecoder();
  assertEquals([...frameDecoder.push(frame.subarray(0, 2))].length, 0);
  assertEquals(frameDecoder.buffered, 2);
  assertEquals([...frameDecoder.push(frame.subarray(2, 7))].length, 0);
  assertEquals(frameDecoder.buffered, 7);
  const [body] = [...frameDecoder.push(frame.subarray(7))];
  assertEquals(JSON.parse(decoder.decode(body)), { hello: "world" });
  assertEquals(frameDecoder.buffered, 0);
});

test("framing: an oversize header throws after the frames before it in the same chunk", () => {
  const oversize = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(oversize.buffer).setUint32(0, 101, false);
  const chunk = concat([encodeFrame({ a: 1 }), encodeFrame({ b: 2 }), oversize]);
  const frameDecoder = new FrameDecoder(100);
  const received: unknown[] = [];
  let error: unknown;
  try {
    for (const body of frameDecoder.push(chunk)) received.push(JSON.parse(decoder.decode(body)));
  } catch (e) {
    error = e;
  }
  assertEquals(received, [{ a: 1 }, { b: 2 }]);
  assertTrue(error instanceof FrameTooLargeError);
  assertEquals([error.bytes, error.limit], [101, 100]);
  // Exactly at the limit is fine.
  const atLimit = encodeFrame("x".repeat(98), 100);
  assertEquals(atLimit.length, FRAME_HEADER_BYTES + 100);
  assertEquals([...new FrameDecoder(100).push(atLimit)].length, 1);
});

test("framing: encodeFrame writes a big-endian length and refuses oversize or unserialisable messages", () => {
  const frame = encodeFrame({ k: "é" });
  const body = new TextEncoder().encode('{"k":"é"}');
  assertEquals(new DataView(frame.buffer).getUint32(0, false), body.length);
  assertEquals(frame.subarray(FRAME_HEADER_BYTES), body);
  let error: unknown;
  try {
    encodeFrame("x".repeat(200), 100);
  } catch (e) {
    error = e;
  }
  assertTrue(error instanceof FrameTooLargeError);
  let undefinedError: unknown;
  try {
    encodeFrame(undefined);
  } catch (e) {
    undefinedError = e;
  }
  assertTrue(undefinedError instanceof TypeError);
});

test("framing: concurrent sends on one connection never interleave", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mitosis-framing-" });
  const path = `${dir}/s.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  try {
    const [serverConn, clientConn] = await Promise.all([
      listener.accept(),
      Deno.connect({ transport: "unix", path }),
    ]);
    const writer = new FramedConn(clientConn, { log, maxBytes: 999_999 });
    const reader = new FramedConn(serverConn, { log });
    const sent = messages(300, prng(11)).map((m, i) => i % 50 === 0 ? { i, big: "y".repeat(300_000) } : m);
    const frames = reader.frames();
    const next = async (): Promise<unknown> => {
      const result = await frames.next();
      return result.done ? null : JSON.parse(decoder.decode(result.value));
    };
    const received: unknown[] = [];
    const reading = (async () => {
      while (received.length < sent.length) received.push(await next());
    })();
    await Promise.all(sent.map((m) => writer.send(m)));
    await reading;
    assertEquals(received, sent);
    // An oversize send is refused on its own; the connection stays usable.
    const tooLarge = await assertRejects(() => writer.send("z".repeat(1_000_000)));
    assertTrue(tooLarge instanceof FrameTooLargeError);
    await writer.send({ after: "oversize" });
    assertEquals(await next(), { after: "oversize" });
    writer.close();
    await writer.closed;
    const afterClose = await assertRejects(() => writer.send({ late: true }));
    assertTrue(afterClose instanceof ConnectionClosedError);
    assertEquals(await next(), null, "the reader sees the end");
    assertTrue(reader.isClosed, "and closes its side");
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});
