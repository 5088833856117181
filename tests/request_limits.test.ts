/**
 * Request body limits: a body over `max_request_body` is refused with 413
 * before it is read (announced) or as soon as it passes the limit (chunked),
 * a body trickling in slower than `request_body_timeout` is cut off with
 * 408, and the local blob store's signed uploads are not limited.
 */
import { assertEquals, assertTrue } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator } from "./support/coordinator.ts";
import { call, login } from "./support/http.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A stream of `total` bytes in 64 KiB chunks (sent chunked, without Content-Length). */
function chunkedBody(total: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      const n = Math.min(65_536, total - sent);
      sent += n;
      controller.enqueue(new Uint8Array(n).fill(0x20));
    },
  });
}

test("a body over the default 16 MiB limit is 413 with msg, announced or chunked, even unauthenticated", async () => {
  await using coord = await startTestCoordinator();
  const big = new Uint8Array(17 * 1024 * 1024).fill(0x20);
  const announced = await fetch(`${coord.url}/login`, { method: "POST", body: big });
  assertEquals(announced.status, 413);
  assertTrue(typeof (await announced.json()).msg === "string");
  const chunked = await fetch(`${coord.url}/login`, { method: "POST", body: chunkedBody(17 * 1024 * 1024) });
  assertEquals(chunked.status, 413);
  assertTrue(typeof (await chunked.json()).msg === "string");
  // Under the limit, bodies still reach the routes.
  assertEquals((await call(coord.url, "POST", "/login", { body: "{}" })).status, 400);
  await login(coord.url, ADMIN.username, ADMIN.password);
});

test("max_request_body is configurable and blob store uploads are exempt from it", async () => {
  await using coord = await startTestCoordinator({ max_request_body: 4096 });
  const admin = await login(coord.url, ADMIN.username, ADMIN.password);
  const tooBig = await call(coord.url, "POST", "/tasks", {
    token: admin,
    body: { group_name: ADMIN.username, task_spec: { args: ["x".repeat(5000)] } },
  });
  assertEquals(tooBig.status, 413, tooBig.text);
  const content = new Uint8Array(64 * 1024).fill(7);
  const grant = await call(coord.url, "POST", `/groups/${ADMIN.username}/attachments`, {
    token: admin,
    body: { key: "big.bin", content_length: content.length },
  });
  assertEquals(grant.status, 200, grant.text);
  const put = await fetch((grant.body as { url: string }).url, { method: "PUT", body: content });
  await put.body?.cancel();
  assertEquals(put.status, 200);
});

test("a body trickling in slower than request_body_timeout is cut off with 408", async () => {
  await using coord = await startTestCoordinator({ request_body_timeout: 1000 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: coord.port });
  try {
    await conn.write(encoder.encode(
      "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
    ));
    const started = Date.now();
    let answer = "";
    const reading = (async () => {
      const buffer = new Uint8Array(4096);
      for (;;) {
        const n = await conn.read(buffer).catch(() => null);
        if (n === null) return;
        answer += decoder.decode(buffer.subarray(0, n));
        if (answer.includes("\r\n\r\n") && answer.includes("}")) return;
      }
    })();
    // One byte every 200 ms: the body would take 200 s.
    const trickle = setInterval(() => conn.write(encoder.encode(" ")).catch(() => {}), 200);
    try {
      await reading;
    } finally {
      clearInterval(trickle);
    }
    const elapsed = Date.now() - started;
    assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
    assertTrue(answer.includes('"msg"'), answer);
    assertTrue(elapsed < 5000, `cut off after ${elapsed} ms`);
  } finally {
    conn.close();
  }
  assertEquals((await call(coord.url, "GET", "/health")).status, 200);
});
