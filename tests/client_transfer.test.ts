import { assertEquals, assertIncludes, assertRejects, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ClientError } from "../shared/client/client.ts";
import { downloadFile, uploadFile } from "../shared/client/transfer.ts";

/** What the fake storage saw of one PUT. */
interface Received {
  contentLength: string | null;
  transferEncoding: string | null;
  bytes: Uint8Array;
}

/** A tiny presigned-URL stand-in: PUT /ok stores, PUT /refuse answers 403, GET serves what was stored. */
function fakeStorage() {
  const received: Received[] = [];
  let stored = new Uint8Array();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (req.method === "PUT" && url.pathname === "/refuse") {
      return Response.json({ msg: "signature expired" }, { status: 403 });
    }
    if (req.method === "PUT") {
      const bytes = new Uint8Array(await req.arrayBuffer());
      received.push({
        contentLength: req.headers.get("content-length"),
        transferEncoding: req.headers.get("transfer-encoding"),
        bytes,
      });
      stored = bytes;
      return new Response(null, { status: 200 });
    }
    if (url.pathname === "/missing") {
      return new Response("<Error><Code>NoSuchKey</Code><Message>The key does not exist</Message></Error>", {
        status: 404,
      });
    }
    return new Response(stored, { headers: { "content-length": String(stored.length) } });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  return { base, received, [Symbol.asyncDispose]: () => server.shutdown() };
}

/** A raw TCP server that announces 1000 bytes, sends 10 and hangs up. */
function truncatingServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const conn of listener) {
      const head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n0123456789";
      await conn.write(new TextEncoder().encode(head));
      conn.close();
    }
  })();
  return { url: `http://127.0.0.1:${listener.addr.port}/`, [Symbol.dispose]: () => listener.close() };
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

test("transfer: uploadFile streams the file with its exact Content-Length and reports progress", async () => {
  await using storage = fakeStorage();
  const dir = await Deno.makeTempDir();
  try {
    const data = randomBytes(1_500_000);
    await Deno.writeFile(`${dir}/in.bin`, data);
    const seen: [number, number | undefined][] = [];
    const result = await uploadFile(`${storage.base}/ok?X-Sig=abc`, `${dir}/in.bin`, (d, t) => seen.push([d, t]));
    assertEquals(result.bytes, data.length);
    assertEquals(storage.received.length, 1);
    assertEquals(storage.received[0].contentLength, String(data.length));
    assertEquals(storage.received[0].transferEncoding, null, "no chunked encoding");
    assertEquals(storage.received[0].bytes, data);
    assertEquals(seen[0], [0, data.length]);
    assertEquals(seen.at(-1), [data.length, data.length]);
    assertTrue(seen.length > 2, "progress reported while sending");

    await Deno.writeFile(`${dir}/empty.bin`, new Uint8Array());
    await uploadFile(`${storage.base}/ok`, `${dir}/empty.bin`);
    assertEquals(storage.received[1].contentLength, "0");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("transfer: uploadFile reports the storage's refusal and unreachable URLs as ClientError", async () => {
  await using storage = fakeStorage();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/in.bin`, randomBytes(3_000_000));
    const refused = await assertRejects(() => uploadFile(`${storage.base}/refuse`, `${dir}/in.bin`));
    assertTrue(refused instanceof ClientError);
    assertEquals(refused.status, 403);
    assertIncludes(refused.message, "signature expired");

    const unreachable = await assertRejects(() => uploadFile("http://127.0.0.1:9/x", `${dir}/in.bin`));
    assertTrue(unreachable instanceof ClientError);
    assertEquals(unreachable.status, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("transfer: downloadFile streams into place through a temporary file, creating directories", async () => {
  await using storage = fakeStorage();
  const dir = await Deno.makeTempDir();
  try {
    const data = randomBytes(2_000_000);
    await Deno.writeFile(`${dir}/in.bin`, data);
    await uploadFile(`${storage.base}/ok`, `${dir}/in.bin`);

    const seen: [number, number | undefined][] = [];
    const target = `${dir}/nested/deeper/out.bin`;
    const result = await downloadFile(`${storage.base}/get`, target, (d, t) => seen.push([d, t]));
    assertEquals(result.bytes, data.length);
    assertEquals(await Deno.readFile(target), data);
    assertEquals(seen.at(-1), [data.length, data.length]);
    assertEquals([...Deno.readDirSync(`${dir}/nested/deeper`)].map((e) => e.name), ["out.bin"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("transfer: failed downloads leave neither the target nor a partial file", async () => {
  await using storage = fakeStorage();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/in.bin`, randomBytes(100_000));
    await uploadFile(`${storage.base}/ok`, `${dir}/in.bin`);

    const missing = await assertRejects(() => downloadFile(`${storage.base}/missing`, `${dir}/out/a.bin`));
    assertTrue(missing instanceof ClientError);
    assertEquals(missing.status, 404);
    assertIncludes(missing.message, "The key does not exist");

    using truncating = truncatingServer();
    const short = await assertRejects(() => downloadFile(truncating.url, `${dir}/out/b.bin`));
    assertTrue(short instanceof ClientError, String(short));
    assertEquals([...Deno.readDirSync(`${dir}/out`)], [], "no target, no .part file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
